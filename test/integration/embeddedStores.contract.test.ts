import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { FolderObjects } from '../../core/stores/folderObjects.js';
import { SqlMeasurements } from '../../core/stores/sql/sqlMeasurements.js';
import { SqlRegistry } from '../../core/stores/sql/sqlRegistry.js';
import { measurementsContract, objectsContract, registryContract } from '../contract/storeContracts.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'contract-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

registryContract('SQLite', () => SqlRegistry.open(`sqlite:${path.join(dir, 'registry.db')}`));
measurementsContract('SQLite', () => SqlMeasurements.open(`sqlite:${path.join(dir, 'measurements.db')}`));
objectsContract('folder', async () => new FolderObjects(path.join(dir, 'objects')));
