import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/dashboard';
import { INFLUXDB, REGISTRY } from './datasources.js';

/*
 * The SDK has no query types for InfluxDB or MySQL, so these are the custom query types its README describes:
 * the JSON Grafana's InfluxQL (raw mode) and MySQL (code mode) editors save.
 */

export interface InfluxQLQuery extends Dataquery {
  refId?: string;
  datasource: DataSourceRef;
  query: string;
  rawQuery: true;
  resultFormat: 'time_series' | 'table';
  alias?: string;
}

export class InfluxQLQueryBuilder implements Builder<Dataquery> {
  private readonly internal: InfluxQLQuery;

  constructor(query: string) {
    this.internal = { datasource: INFLUXDB, query, rawQuery: true, resultFormat: 'time_series', _implementsDataqueryVariant() {} };
  }

  build(): InfluxQLQuery {
    return this.internal;
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  /** Series name; `$tag_<name>` and `$col` are replaced by Grafana. */
  alias(alias: string): this {
    this.internal.alias = alias;
    return this;
  }

  asTable(): this {
    this.internal.resultFormat = 'table';
    return this;
  }
}

export interface RegistrySqlQuery extends Dataquery {
  refId?: string;
  datasource: DataSourceRef;
  rawSql: string;
  rawQuery: true;
  editorMode: 'code';
  format: 'table';
}

export class RegistrySqlQueryBuilder implements Builder<Dataquery> {
  private readonly internal: RegistrySqlQuery;

  constructor(rawSql: string) {
    this.internal = { datasource: REGISTRY, rawSql, rawQuery: true, editorMode: 'code', format: 'table', _implementsDataqueryVariant() {} };
  }

  build(): RegistrySqlQuery {
    return this.internal;
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }
}
