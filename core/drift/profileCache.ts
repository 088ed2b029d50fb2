import { sha256 } from '../ml/dataset.js';
import type { ObjectStore } from '../stores/objects.js';
import type { RegistryStore } from '../stores/registry.js';
import type { ReferenceProfile } from './referenceProfile.js';

/** Profiles never change once stored: each is read and verified once per process. */
export class ProfileCache {
  private readonly profiles = new Map<string, ReferenceProfile>();
  private static readonly KEPT = 64;

  constructor(private readonly objects: ObjectStore) {}

  async get({ key, sha256: expected }: { key: string; sha256: string }): Promise<ReferenceProfile> {
    const cached = this.profiles.get(key);
    if (cached) return cached;
    const bytes = await this.objects.get(key);
    const actual = sha256(bytes);
    if (actual !== expected) throw new Error(`reference profile ${key} has sha256 ${actual}, the registry says ${expected}`);
    const profile = JSON.parse(bytes.toString('utf8')) as ReferenceProfile;
    if (this.profiles.size >= ProfileCache.KEPT) this.profiles.delete(this.profiles.keys().next().value!);
    this.profiles.set(key, profile);
    return profile;
  }
}

/** How long a version found without a profile stays without one before the registry is asked again (one is attached after registration). */
const NO_PROFILE_RECHECK_MS = 30_000;

/** A version's reference profile by model and version, the registry asked once per version (again later while it has none). */
export class VersionProfiles {
  private readonly cache: ProfileCache;
  private readonly found = new Map<string, { profile: ReferenceProfile | null; at: number }>();

  constructor(
    private readonly registry: Pick<RegistryStore, 'getModelVersion'>,
    objects: ObjectStore,
  ) {
    this.cache = new ProfileCache(objects);
  }

  async get(modelName: string, version: number): Promise<ReferenceProfile | null> {
    const key = `${modelName}@${version}`;
    const known = this.found.get(key);
    if (known && (known.profile || Date.now() - known.at < NO_PROFILE_RECHECK_MS)) return known.profile;
    let profile: ReferenceProfile | null;
    try {
      const reference = (await this.registry.getModelVersion(modelName, version))?.referenceProfile;
      profile = reference ? await this.cache.get(reference) : null;
    } catch (err) {
      // A re-check that fails (the registry or object store down) keeps what was known: no profile until it answers.
      if (known) return known.profile;
      throw err;
    }
    this.found.set(key, { profile, at: Date.now() });
    return profile;
  }
}
