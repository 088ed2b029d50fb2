import { buffer } from 'node:stream/consumers';
import { Client as MinioClient, S3Error } from 'minio';
import { assertValidKey, ObjectNotFoundError, type ObjectStore } from '../objects.js';
import { decodeComponent, parseStoreUrl, queryParameters, singlePathSegment, StoreUrlError } from '../storeUrl.js';

/** Where `s3://access:secret@host:port/bucket[?tls=true&region=...]` points. */
export interface S3Location {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
}

const SETTING = 'OBJECTS_URL';
const FORM = 's3://access:secret@host:port/bucket[?tls=true&region=]';

/** Access key, secret, bucket and query values are percent-encoded (see storeUrl.ts). */
export function parseS3Url(url: string): S3Location {
  const u = parseStoreUrl(url, SETTING, 's3:', FORM);
  const bucket = singlePathSegment(u, `bucket in ${SETTING}`);
  if (!u.hostname || !bucket) throw new StoreUrlError(`${SETTING} must look like ${FORM}`);
  const q = queryParameters(u, SETTING);
  const useSSL = q.get('tls') === 'true';
  return {
    endPoint: u.hostname,
    port: u.port ? Number(u.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: decodeComponent(u.username, `access key in ${SETTING}`),
    secretKey: decodeComponent(u.password, `secret in ${SETTING}`),
    bucket,
    region: q.get('region') ?? 'us-east-1',
  };
}

const MISSING = new Set(['NoSuchKey', 'NotFound', 'NoSuchObject']);
const isMissing = (err: unknown) => err instanceof S3Error && MISSING.has(err.code ?? '');

/** Objects in one S3 bucket (MinIO or any S3 API); the bucket is created when missing. */
export class S3Objects implements ObjectStore {
  private constructor(
    private readonly s3: MinioClient,
    private readonly bucket: string,
  ) {}

  static async open(url: string): Promise<S3Objects> {
    const where = parseS3Url(url);
    const s3 = new MinioClient({
      endPoint: where.endPoint,
      port: where.port,
      useSSL: where.useSSL,
      accessKey: where.accessKey,
      secretKey: where.secretKey,
      region: where.region,
      pathStyle: true,
    });
    if (!(await s3.bucketExists(where.bucket))) {
      try {
        await s3.makeBucket(where.bucket, where.region);
      } catch (err) {
        // Another process may have created it between the check and the call.
        if (!(err instanceof S3Error && (err.code === 'BucketAlreadyOwnedByYou' || err.code === 'BucketAlreadyExists'))) throw err;
      }
    }
    return new S3Objects(s3, where.bucket);
  }

  async put(key: string, data: Buffer, contentType = 'application/octet-stream'): Promise<void> {
    assertValidKey(key);
    await this.s3.putObject(this.bucket, key, data, data.length, { 'Content-Type': contentType });
  }

  async get(key: string): Promise<Buffer> {
    assertValidKey(key);
    try {
      return await buffer(await this.s3.getObject(this.bucket, key));
    } catch (err) {
      if (isMissing(err)) throw new ObjectNotFoundError(key);
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    assertValidKey(key);
    try {
      await this.s3.statObject(this.bucket, key);
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const item of this.s3.listObjectsV2(this.bucket, prefix, true)) {
      if (item.name) keys.push(item.name);
    }
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.s3.removeObject(this.bucket, key);
  }

  async close(): Promise<void> {}
}
