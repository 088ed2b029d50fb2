/** The simulated rover's drive: it sets the world's tier, and the world moves by it as simulated time passes. */
import type { SpeedTier } from '../speedTiers.js';
import type { Drive } from './devices.js';
import type { SimulatedWorld } from './simulatedWorld.js';

export class SimulatedDrive implements Drive {
  constructor(private readonly world: SimulatedWorld) {}

  async set(tier: SpeedTier): Promise<void> {
    this.world.tier = tier;
  }

  stopNow(): void {
    this.world.tier = 'stop';
  }

  async close(): Promise<void> {
    this.stopNow();
  }
}
