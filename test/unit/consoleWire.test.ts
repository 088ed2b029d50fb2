import { describe, expectTypeOf, it } from 'vitest';
import type * as Access from '../../contracts/http/access.js';
import type * as Deployments from '../../contracts/http/deployments.js';
import type * as Clients from '../../contracts/http/clients.js';
import type * as Measurements from '../../contracts/http/measurements.js';
import type * as Models from '../../contracts/http/models.js';
import type * as Monitor from '../../contracts/http/monitor.js';
import type * as Retrain from '../../contracts/http/retrain.js';
import type * as Sensors from '../../contracts/http/sensors.js';
import type * as Parking from '../../contracts/http/parking.js';
import type { z } from 'zod';
import type * as Console from '../../console/src/wire.js';

/**
 * The console declares the answers it reads by hand (console/src/wire.ts: its browser build cannot type-check the
 * server modules contracts/http reaches). These checks, run by `tsc` in npm test, keep each declaration a view of
 * what the server's schema answers: a field the server renames or drops fails the type-check here.
 */
describe("the console's view of the API's answers", () => {
  it('reads what the server answers', () => {
    expectTypeOf<Measurements.FleetAnswer>().toExtend<Console.FleetAnswer>();
    expectTypeOf<Measurements.FramesAnswer>().toExtend<Console.FramesAnswer>();
    expectTypeOf<Measurements.SeriesAnswer>().toExtend<Console.SeriesAnswer>();
    expectTypeOf<Measurements.DeploymentStatsAnswer>().toExtend<Console.DeploymentStatsAnswer>();
    expectTypeOf<Measurements.DriftChecksAnswer>().toExtend<Console.DriftChecksAnswer>();
    expectTypeOf<Deployments.RolloutListAnswer>().toExtend<Console.RolloutListAnswer>();
    expectTypeOf<Deployments.RolloutRunAnswer>().toExtend<Console.RolloutRunAnswer>();
    expectTypeOf<Access.AnnotationListAnswer>().toExtend<Console.AnnotationsAnswer>();
    expectTypeOf<Access.CreatedViewerAnswer>().toExtend<Console.CreatedViewerAnswer>();
    expectTypeOf<Deployments.DeploymentDetailAnswer>().toExtend<Console.DeploymentDetailAnswer>();
    expectTypeOf<Deployments.RolloutStatusAnswer>().toExtend<Console.RolloutAnswer>();
    expectTypeOf<Clients.CreatedClientAnswer>().toExtend<Console.CreatedClientAnswer>();
    expectTypeOf<Models.ModelListAnswer>().toExtend<Console.ModelListAnswer>();
    expectTypeOf<Models.RetrainRequestListAnswer>().toExtend<Console.RetrainRequestListAnswer>();
    expectTypeOf<Monitor.MonitorAnswer>().toExtend<Console.MonitorAnswer>();
    expectTypeOf<Retrain.RetrainAnswer>().toExtend<Console.RetrainAnswer>();
    expectTypeOf<Sensors.DeploymentSensorsAnswer>().toExtend<Console.DeploymentSensorsAnswer>();
    expectTypeOf<z.infer<typeof Parking.parkingSummaryAnswerSchema>>().toExtend<Console.ParkingSummaryAnswer>();
  });
});
