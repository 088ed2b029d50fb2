import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluatePrevious, type EvaluatePreviousResult } from '../../activities/evaluatePrevious.js';
import { registerModelVersion, type RegisterInput } from '../../activities/registerModelVersion.js';
import { DATASET_FORMAT, labelsToBuffer, sha256, type DatasetManifest } from '../../core/ml/dataset.js';
import { registerUntrainedVersion } from '../support/apiHarness.js';
import { openTempStores, type TempStores } from '../support/embeddedStores.js';

/**
 * `if-better` registration judges the stop band: the current version and the candidate are measured on the same test
 * frames, and a candidate significantly worse where the rover stops (laser <= 100 mm) is not registered even when its
 * mean error is lower. Versions predict a fixed distance each (untrained, their output bias set), so errors are known.
 */
describe('the stop band at registration', () => {
  let t: TempStores;
  const context = () => ({ stores: t.stores, objectsUrl: t.urls.objectsUrl, mlBackend: 'auto' as const });
  /** A v1 dataset whose test split holds these labels (pixels do not matter to a version with a fixed output). */
  const dataset = async (key: string, testLabelsMm: number[]) => {
    const [width, height] = [20, 15];
    const put = async (name: string, body: Buffer) => {
      await t.stores.objects.put(`${key}/${name}`, body, 'application/octet-stream');
      return { key: `${key}/${name}`, sha: sha256(body) };
    };
    const split = async (name: string, labels: number[]) => {
      const pixels = await put(`${name}.pixels`, Buffer.alloc(labels.length * width * height * 3, 128));
      const labelFile = await put(`${name}.labels`, labelsToBuffer(new Float32Array(labels)));
      return {
        count: labels.length,
        pixelsKey: pixels.key,
        pixelsSha256: pixels.sha,
        labelsKey: labelFile.key,
        labelsSha256: labelFile.sha,
      };
    };
    const manifest: DatasetManifest = {
      format: DATASET_FORMAT,
      width,
      height,
      channels: 3,
      labelMaxMm: 350,
      seed: 1,
      testFraction: 0.5,
      train: await split('train', [100]),
      test: await split('test', testLabelsMm),
      source: {
        datasetKey: `${key}/records.jsonl`,
        datasetSha256: 'x'.repeat(64),
        deployments: ['d'],
        recordCount: 1 + testLabelsMm.length,
      },
    };
    const manifestKey = `${key}/manifest.json`;
    await t.stores.objects.put(manifestKey, Buffer.from(JSON.stringify(manifest)), 'application/json');
    return manifestKey;
  };

  beforeAll(async () => {
    t = await openTempStores();
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  // A quarter of the test frames near the wall (40 mm), the rest at 300 mm. v1 says 100 mm: 60 mm off near the wall,
  // 200 mm off far away; the candidate says 290 mm: 250 mm off near the wall, 10 mm far away.
  const labels = Array.from({ length: 120 }, (_, i) => (i % 4 === 0 ? 40 : 300));

  it('measures the current version and the candidate on the same test frames: metrics by band and the stop-band comparison', async () => {
    await registerUntrainedVersion(t.stores, 'walls', 'walls-v1', 100);
    const candidate = await registerUntrainedVersion(t.stores, 'walls-candidates', 'walls-c', 290);
    const manifestKey = await dataset('runs/walls/dataset', labels);
    const previous = (await new MockActivityEnvironment().run(evaluatePrevious(context()), {
      modelName: 'walls',
      manifestKey,
      candidateArtifactKey: candidate.artifactKey,
    })) as EvaluatePreviousResult;
    expect(previous.previousVersion).toBe(1);
    expect(previous.metrics!.test_mae_mm).toBeCloseTo((30 * 60 + 90 * 200) / 120, 0);
    expect(previous.metrics).toMatchObject({ test_frames_stop: 30, test_frames_20_100: 30, test_frames_100_350: 90 });
    expect(previous.metrics!.test_mae_mm_stop).toBeCloseTo(60, 0);
    expect(previous.stopBand).toMatchObject({ pairs: 30 });
    expect(previous.stopBand!.meanErrorCandidate).toBeCloseTo(250, 0);
    expect(previous.stopBand!.pCandidateWorse).toBeLessThan(1e-5);
  });

  const input = (
    previous: EvaluatePreviousResult,
    candidateMae: number,
    artifact: { artifactKey: string; artifactSha256: string },
  ): RegisterInput => ({
    modelName: 'walls',
    workflowId: 'w',
    runId: 'r',
    architecture: 'compact',
    best: {
      trialId: 'walls-c-t0',
      params: { epochs: 1, batchSize: 32, dropout: 0.1, learningRate: 0.001 },
      metrics: { test_mae_mm: candidateMae },
      artifactKey: artifact.artifactKey,
      artifactSha256: artifact.artifactSha256,
    },
    selectionMetric: 'test_mae_mm',
    previous,
    policy: 'if-better',
    dataset: { manifestKey: 'runs/walls/dataset/manifest.json', manifestSha256: 's', deployments: ['d'], recordCount: 121 },
  });

  it('refuses a candidate better on average but significantly worse in the stop band, and says so', async () => {
    const candidate = (await t.stores.registry.getModelVersion('walls-candidates', 1))!;
    const stopBand = {
      pairs: 30,
      meanErrorCurrent: 60,
      meanErrorCandidate: 250,
      meanDifference: 190,
      statistic: 465,
      pCandidateBetter: 1,
      pCandidateWorse: 1e-7,
    };
    const previous = { previousVersion: 1, metrics: { test_mae_mm: 165 }, stopBand };
    const refused = await registerModelVersion(context())(input(previous, 70, candidate));
    expect(refused).toEqual({
      registered: false,
      reason:
        'test_mae_mm 70.00 beats version 1 (165.00) on the same test set, but it is worse than the current version in the stop band (laser <= 100 mm): p = 1.0e-7 < 0.01 on 30 frames, mean error 250.0 mm against 60.0 mm',
    });
    expect(await t.stores.registry.getLatestModelVersion('walls')).toMatchObject({ version: 1 });

    // No significant difference in the stop band (or too few frames there): the better mean registers it, the comparison kept.
    const alike = { ...previous, stopBand: { ...stopBand, pCandidateWorse: 0.3 } };
    const registered = await registerModelVersion(context())(input(alike, 70, candidate));
    expect(registered).toMatchObject({ registered: true, version: 2, comparison: { previousVersion: 1, stopBand: { pairs: 30 } } });
  });
});
