import { describe, it } from 'vitest';
import { InfluxMeasurements } from '../../core/stores/influx/influxMeasurements.js';
import { S3Objects } from '../../core/stores/s3/s3Objects.js';
import { SqlRegistry } from '../../core/stores/sql/sqlRegistry.js';
import { measurementsContract, objectsContract, registryContract } from '../contract/storeContracts.js';
import { productionUrls, restartService } from '../support/productionServices.js';

// The same suites as the embedded stores, against the real MariaDB, InfluxDB and S3 gateway that
// scripts/services/up.sh starts on loopback.
const urls = productionUrls();
if (urls) {
  registryContract('MySQL (MariaDB)', () => SqlRegistry.open(urls.registryUrl), { restart: () => restartService('mariadb') });
  // Pages of 3 points: every dataset query of the suite reads in several pages.
  measurementsContract('InfluxDB', () => InfluxMeasurements.open(urls.measurementsUrl, { datasetPagePoints: 3 }), {
    restart: () => restartService('influxdb'),
  });
  objectsContract('S3 (Versity S3 gateway)', () => S3Objects.open(urls.objectsUrl), { restart: () => restartService('versitygw') });
} else {
  describe.skip('production store contracts (services not running)', () => it('needs scripts/services/up.sh'));
}
