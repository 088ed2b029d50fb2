import type { RequestHandler } from 'express';
import { ApiError } from './errors.js';

export interface JsonLimits {
  /** Deepest nesting of objects and arrays; the body itself is level 1. */
  maxDepth: number;
  /** Most keys and array items in the whole body. */
  maxKeys: number;
}

/**
 * Refuses a parsed JSON body nested deeper or wider than the limits before any route sees it:
 * code that recurses over a value (JSON.stringify when a request is recorded, say) overflows the
 * stack long before the body size limit is reached. The walk itself is iterative.
 */
export function jsonLimits(limits: JsonLimits): RequestHandler {
  return (req, _res, next) => {
    const body: unknown = req.body;
    if (body === null || typeof body !== 'object') return next();
    const pending: [unknown, number][] = [[body, 1]];
    let keys = 0;
    while (pending.length > 0) {
      const [node, depth] = pending.pop()!;
      if (node === null || typeof node !== 'object') continue;
      if (depth > limits.maxDepth)
        return next(new ApiError(400, 'json_too_deep', `JSON body nested deeper than ${limits.maxDepth} levels (JSON_MAX_DEPTH)`));
      for (const value of Object.values(node)) {
        if (++keys > limits.maxKeys)
          return next(new ApiError(413, 'json_too_many_keys', `JSON body has more than ${limits.maxKeys} keys and items (JSON_MAX_KEYS)`));
        pending.push([value, depth + 1]);
      }
    }
    next();
  };
}
