import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderObjects } from '../../core/stores/folderObjects.js';
import { mountTmpfs, type Tmpfs } from '../support/tmpfs.js';

describe('folder objects on a full filesystem', () => {
  let disk: Tmpfs;
  beforeEach(() => {
    disk = mountTmpfs(256 * 1024, 'mlops-objects-full-');
  });
  afterEach(() => disk.unmount());

  it('leaves no temp file behind when a write fails, and writes again once space is back', async () => {
    const root = path.join(disk.dir, 'objects');
    const objects = new FolderObjects(root);
    await objects.put('features/a/1.jpg', Buffer.alloc(1000, 1));
    const filler = path.join(disk.dir, 'filler');
    disk.fill(filler);
    for (let i = 0; i < 5; i++) await expect(objects.put(`features/a/${i + 2}.jpg`, Buffer.alloc(20_000, 2))).rejects.toThrow(/ENOSPC/);
    expect((fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(await objects.list('features/')).toEqual(['features/a/1.jpg']);

    fs.rmSync(filler);
    await objects.put('features/a/2.jpg', Buffer.alloc(20_000, 2));
    expect(await objects.get('features/a/2.jpg')).toEqual(Buffer.alloc(20_000, 2));
  });
});

describe('folder objects', () => {
  it('makes the folders of a key when a put finds them missing, also after they were removed', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-objects-'));
    try {
      const objects = new FolderObjects(root);
      await objects.put('features/a/1.jpg', Buffer.from('one'));
      fs.rmSync(path.join(root, 'features'), { recursive: true });
      await objects.put('features/a/2.jpg', Buffer.from('two'));
      await objects.put('features/b/c/3.jpg', Buffer.from('three'));
      expect(await objects.list('features/')).toEqual(['features/a/2.jpg', 'features/b/c/3.jpg']);
      expect(await objects.get('features/a/2.jpg')).toEqual(Buffer.from('two'));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("writes while every thread of libuv's pool is held by something slow (a read of a hung disk, a DNS lookup)", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-objects-'));
    // Opening a FIFO to read holds a pool thread until a writer opens it.
    const fifos = Array.from({ length: Number(process.env.UV_THREADPOOL_SIZE ?? 4) }, (_, i) => path.join(root, `fifo-${i}`));
    for (const fifo of fifos) execFileSync('mkfifo', [fifo]);
    const held = fifos.map((fifo) => fs.promises.open(fifo, 'r'));
    try {
      const objects = new FolderObjects(path.join(root, 'objects'));
      const put = objects.put('features/a/1.jpg', Buffer.from('one')).then(() => 'stored');
      expect(await Promise.race([put, new Promise((resolve) => setTimeout(resolve, 5000, 'waited for the pool'))])).toBe('stored');
      expect(fs.readFileSync(path.join(root, 'objects/features/a/1.jpg'), 'utf8')).toBe('one');
      await objects.close();
    } finally {
      const writers = fifos.map((fifo) => fs.openSync(fifo, fs.constants.O_RDWR));
      for (const handle of await Promise.all(held)) await handle.close();
      writers.forEach((fd) => fs.closeSync(fd));
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
