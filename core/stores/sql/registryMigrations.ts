import type { Migration } from './migrations.js';

/** Registry schema, one list of migrations for SQLite and MySQL alike. */

export const registryMigrations: Migration[] = [
  {
    name: '0001_initial',
    async up(knex) {
      await knex.schema.createTable('deployments', (t) => {
        t.string('id', 64).primary();
        t.string('model_name', 128).notNullable();
        t.string('model_version', 16).notNullable();
        t.string('strategy', 16).notNullable();
        t.string('created_at', 32).notNullable();
      });
      await knex.schema.createTable('clients', (t) => {
        t.string('id', 64).primary();
        t.string('name', 256).notNullable();
        t.string('token_hash', 128).notNullable();
        t.string('deployment_id', 64).nullable().references('id').inTable('deployments').onDelete('SET NULL');
        t.string('created_at', 32).notNullable();
      });
      await knex.schema.createTable('models', (t) => {
        t.string('name', 128).primary();
        t.text('description').notNullable();
        t.text('training_config').nullable();
        t.string('created_at', 32).notNullable();
      });
      await knex.schema.createTable('model_versions', (t) => {
        t.string('model_name', 128).notNullable().references('name').inTable('models');
        t.integer('version').notNullable();
        t.string('artifact_key', 512).notNullable();
        t.string('artifact_sha256', 64).notNullable();
        t.string('architecture', 64).notNullable();
        t.text('metrics').notNullable();
        t.text('params').notNullable();
        t.string('trial_id', 256).notNullable();
        t.string('workflow_id', 256).notNullable();
        t.string('run_id', 64).notNullable();
        t.string('dataset_key', 512).notNullable();
        t.string('dataset_sha256', 64).notNullable();
        t.text('source_deployments').notNullable();
        t.integer('record_count').notNullable();
        t.text('comparison').nullable();
        t.string('created_at', 32).notNullable();
        t.primary(['model_name', 'version']);
        t.unique(['model_name', 'run_id']);
      });
      await knex.schema.createTable('trials', (t) => {
        t.string('id', 256).primary();
        t.string('workflow_id', 256).notNullable().index();
        t.string('run_id', 64).notNullable();
        t.string('model_name', 128).notNullable().index();
        t.text('params').notNullable();
        t.text('metrics').notNullable();
        t.text('history', 'mediumtext').notNullable();
        t.string('artifact_key', 512).notNullable();
        t.string('artifact_sha256', 64).notNullable();
        t.string('dataset_key', 512).notNullable();
        t.string('created_at', 32).notNullable();
      });
      await knex.schema.createTable('retrain_requests', (t) => {
        t.increments('id');
        t.string('model_name', 128).notNullable().index();
        t.string('trigger', 16).notNullable();
        t.text('payload', 'mediumtext').notNullable();
        t.string('workflow_id', 256).nullable();
        t.string('run_id', 64).nullable();
        t.string('outcome', 16).notNullable();
        t.string('dedupe_key', 256).nullable();
        t.string('created_at', 32).notNullable();
        t.index(['model_name', 'dedupe_key']);
      });
    },
    async down(knex) {
      for (const table of ['retrain_requests', 'trials', 'model_versions', 'models', 'clients', 'deployments']) {
        await knex.schema.dropTableIfExists(table);
      }
    },
  },
  {
    // Each firing of an alert is one row holding its dedupe key (a unique index decides concurrent repeats); repeats
    // point at it. Asks are recorded before they are acted on: `pending` until Temporal took them, claimed meanwhile.
    name: '0002_retrain_requests_recorded_first',
    async up(knex) {
      await knex.schema.alterTable('retrain_requests', (t) => {
        t.integer('duplicate_of').nullable();
        t.string('coverage', 16).nullable();
        t.bigInteger('claimed_at').nullable();
      });
      await knex('retrain_requests').whereNotIn('outcome', ['started', 'joined']).update({ dedupe_key: null });
      // Repeats that the old check-then-write let through: the first keeps the key.
      const keep = knex('retrain_requests').min('id as id').whereNotNull('dedupe_key').groupBy('model_name', 'dedupe_key');
      await knex('retrain_requests')
        .whereNotNull('dedupe_key')
        .whereNotIn('id', knex.select('id').from(keep.as('keep')))
        .update({ dedupe_key: null });
      await knex.schema.alterTable('retrain_requests', (t) => {
        t.dropIndex(['model_name', 'dedupe_key']);
        t.unique(['model_name', 'dedupe_key']);
        t.index(['outcome']);
      });
    },
    async down(knex) {
      await knex.schema.alterTable('retrain_requests', (t) => {
        t.dropIndex(['outcome']);
        t.dropUnique(['model_name', 'dedupe_key']);
        t.index(['model_name', 'dedupe_key']);
        t.dropColumn('claimed_at');
        t.dropColumn('coverage');
        t.dropColumn('duplicate_of');
      });
    },
  },
  {
    name: '0003_reference_profiles',
    async up(knex) {
      await knex.schema.alterTable('model_versions', (t) => {
        t.string('reference_profile_key', 512).nullable();
        t.string('reference_profile_sha256', 64).nullable();
      });
    },
    async down(knex) {
      await knex.schema.alterTable('model_versions', (t) => {
        t.dropColumn('reference_profile_sha256');
        t.dropColumn('reference_profile_key');
      });
    },
  },
  {
    // The drift monitor's settings per model (core/drift/monitorConfig.ts); null: the defaults.
    name: '0004_monitor_config',
    async up(knex) {
      await knex.schema.alterTable('models', (t) => t.text('monitor_config').nullable());
    },
    async down(knex) {
      await knex.schema.alterTable('models', (t) => t.dropColumn('monitor_config'));
    },
  },
  {
    // Every change of the version a deployment serves, and why (core/stores/registry.ts ServingChange); history
    // starts here: deployments created before have none until their first change. Each deployment's rollout
    // policy (core/rollout/rolloutPolicy.ts); null: the defaults.
    name: '0005_serving_history',
    async up(knex) {
      await knex.schema.alterTable('deployments', (t) => t.text('rollout_policy').nullable());
      await knex.schema.createTable('serving_history', (t) => {
        t.increments('id');
        t.string('deployment_id', 64).notNullable().references('id').inTable('deployments').onDelete('CASCADE');
        t.string('at', 32).notNullable();
        t.string('model_name', 128).notNullable();
        t.integer('to_version').nullable();
        t.string('from_model_name', 128).nullable();
        t.integer('from_version').nullable();
        t.string('reason', 32).notNullable();
        t.string('changed_by', 256).notNullable();
        t.text('note', 'mediumtext').nullable();
        t.index(['deployment_id', 'id']);
      });
    },
    async down(knex) {
      await knex.schema.dropTableIfExists('serving_history');
      await knex.schema.alterTable('deployments', (t) => t.dropColumn('rollout_policy'));
    },
  },
  {
    // A deployment's rollout (core/stores/registry.ts ActiveRollout): on `latest` with a shadow or canary strategy
    // it serves `current_version` (the version promoted last) while a candidate is judged. Deployments already on a
    // rollout strategy serve their model's newest version from here on.
    name: '0006_rollouts',
    async up(knex) {
      await knex.schema.alterTable('deployments', (t) => {
        t.integer('current_version').nullable();
        t.integer('candidate_version').nullable();
        t.string('rollout_stage', 16).nullable();
        t.text('canary_clients').nullable();
        t.string('rollout_workflow_id', 256).nullable();
        t.string('rollout_started_at', 32).nullable();
        t.string('stage_started_at', 32).nullable();
      });
      const following = await knex('deployments').where({ model_version: 'latest' }).whereNot({ strategy: 'direct' });
      for (const d of following) {
        const newest = await knex('model_versions').where({ model_name: d.model_name }).max('version as v').first();
        if (newest?.v != null)
          await knex('deployments')
            .where({ id: d.id })
            .update({ current_version: Number(newest.v) });
      }
    },
    async down(knex) {
      await knex.schema.alterTable('deployments', (t) => {
        for (const column of [
          'stage_started_at',
          'rollout_started_at',
          'rollout_workflow_id',
          'canary_clients',
          'rollout_stage',
          'candidate_version',
          'current_version',
        ])
          t.dropColumn(column);
      });
    },
  },
  {
    // Why a change was made, in a person's words (a rollback's reason).
    name: '0007_serving_history_comment',
    async up(knex) {
      await knex.schema.alterTable('serving_history', (t) => t.string('comment', 1024).nullable());
    },
    async down(knex) {
      await knex.schema.alterTable('serving_history', (t) => t.dropColumn('comment'));
    },
  },
  {
    // Read-only tokens for the console (core/stores/registry.ts Viewer), and markers on its charts (Annotation). An
    // annotation keeps the deployment it names after that deployment is deleted: no foreign key.
    name: '0008_viewers_and_annotations',
    async up(knex) {
      await knex.schema.createTable('viewers', (t) => {
        t.increments('id');
        t.string('name', 128).notNullable().unique();
        t.string('token_hash', 128).notNullable().unique();
        t.string('created_at', 32).notNullable();
        t.string('created_by', 256).notNullable();
      });
      await knex.schema.createTable('annotations', (t) => {
        t.increments('id');
        t.string('time', 32).notNullable().index();
        t.string('text', 500).notNullable();
        t.text('tags').notNullable();
        t.string('deployment_id', 64).nullable().index();
        t.string('created_by', 256).notNullable();
      });
    },
    async down(knex) {
      await knex.schema.dropTableIfExists('annotations');
      await knex.schema.dropTableIfExists('viewers');
    },
  },
  {
    // Suspect lasers (core/stores/registry.ts SensorFault). `open_key` is the deployment and client while the fault is
    // open and null once cleared: a unique index on it keeps one open fault per rover and deployment on both databases
    // (nulls never collide).
    name: '0009_sensor_faults',
    async up(knex) {
      await knex.schema.createTable('sensor_faults', (t) => {
        t.increments('id');
        t.string('client', 64).notNullable();
        t.string('deployment', 64).notNullable();
        t.string('open_key', 130).nullable().unique();
        t.text('kinds').notNullable();
        t.text('evidence').notNullable();
        t.string('summary', 1024).notNullable();
        t.string('since', 32).notNullable();
        t.string('flagged_at', 32).notNullable();
        t.string('updated_at', 32).notNullable();
        t.string('cleared_at', 32).nullable();
        t.string('cleared_by', 256).nullable();
        t.string('clear_reason', 1024).nullable();
        t.index(['deployment', 'flagged_at']);
        t.index(['client', 'flagged_at']);
      });
    },
    async down(knex) {
      await knex.schema.dropTableIfExists('sensor_faults');
    },
  },
  {
    // Frames' Idempotency-Keys per client (core/stores/registry.ts IdempotencyClaim), pruned once expired; and the
    // rovers' parking runs (ParkingRun), one per client and run id.
    name: '0010_idempotency_keys_and_parking_runs',
    async up(knex) {
      await knex.schema.createTable('idempotency_keys', (t) => {
        t.string('client', 64).notNullable();
        t.string('idem_key', 255).notNullable();
        t.string('request_id', 64).notNullable();
        t.bigInteger('frame_time').notNullable();
        t.string('fingerprint', 64).notNullable();
        t.string('state', 16).notNullable();
        t.integer('answer_status').nullable();
        t.text('answer_body').nullable();
        t.string('holder', 64).notNullable();
        t.bigInteger('claimed_at').notNullable();
        t.string('created_at', 32).notNullable().index();
        t.primary(['client', 'idem_key']);
      });
      await knex.schema.createTable('parking_runs', (t) => {
        t.increments('id');
        t.string('client', 64).notNullable();
        t.string('run_id', 64).notNullable();
        t.string('deployment', 64).nullable();
        t.string('mode', 16).notNullable();
        t.string('started_at', 32).notNullable();
        t.string('ended_at', 32).notNullable();
        t.integer('frames').notNullable();
        t.integer('steered_model').notNullable();
        t.integer('steered_laser').notNullable();
        t.integer('steered_stopped').notNullable();
        t.string('outcome', 16).notNullable();
        t.double('final_laser_mm').nullable();
        t.double('final_true_mm').nullable();
        t.integer('model_version').nullable();
        t.string('stop_reason', 16).notNullable();
        t.boolean('simulated').notNullable();
        t.string('preset', 64).nullable();
        t.string('received_at', 32).notNullable();
        t.unique(['client', 'run_id']);
        t.index(['deployment', 'received_at']);
        t.index(['received_at']);
      });
    },
    async down(knex) {
      await knex.schema.dropTableIfExists('parking_runs');
      await knex.schema.dropTableIfExists('idempotency_keys');
    },
  },
];
