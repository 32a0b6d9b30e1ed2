import { CanActivate, ExecutionContext, HttpStatus, Injectable, SetMetadata, applyDecorators } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiExtension, ApiSecurity } from '@nestjs/swagger';
import type { Request } from 'express';
import { AppError } from '../common/app-error';
import { ApiErrors } from '../common/api-docs';
import type { Scope } from './api-key.entity';
import { ApiKeysService, AuthenticatedKey } from './api-keys.service';
import { FailedAuthLimiter } from './failed-auth-limiter';

const SCOPE_KEY = 'wa-hub:scope';
const PUBLIC_KEY = 'wa-hub:public';

/**
 * Requires an API key with `scope` (`X-API-Key: <key>` or `Authorization: Bearer <key>`) and documents it in
 * Swagger. `admin` keys pass every scope. Missing/unknown/revoked/expired key → 401; key without the scope → 403.
 */
export function ApiKeyAuth(scope: Scope): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(SCOPE_KEY, scope),
    ApiSecurity('apiKey'),
    ApiSecurity('bearer'),
    ApiExtension('x-required-scope', scope),
    ApiErrors(401, { status: 403, examples: [{ code: 'FORBIDDEN', message: `API key lacks the "${scope}" scope` }] }, 429),
  );
}

/** Marks a route that authenticates by other means (provider signatures) or needs none (health). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

/** Whether the route handling `context` is {@link Public}. */
export function isPublicRoute(reflector: Reflector, context: ExecutionContext): boolean {
  return reflector.getAllAndOverride<boolean>(PUBLIC_KEY, [context.getHandler(), context.getClass()]) === true;
}

/** The scope a route requires (admin when it declares none). */
export function requiredScope(reflector: Reflector, context: ExecutionContext): Scope {
  return reflector.getAllAndOverride<Scope>(SCOPE_KEY, [context.getHandler(), context.getClass()]) ?? 'admin';
}

/** The authenticated key of a request (set by {@link ApiKeyGuard}). */
export function apiKeyOf(req: Request): AuthenticatedKey | undefined {
  return (req as Request & { apiKey?: AuthenticatedKey }).apiKey;
}

/**
 * Global guard. A route must be marked {@link Public} or carry {@link ApiKeyAuth}; a route with neither requires
 * an admin key, so a forgotten decorator fails closed.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
    private readonly failures: FailedAuthLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (isPublicRoute(this.reflector, context)) return true;
    const scope = requiredScope(this.reflector, context);
    const req = context.switchToHttp().getRequest<Request & { preauthenticatedKey?: AuthenticatedKey }>();
    // Requests with a body were authenticated before it was read (WebhookEdge): the same key, not looked up twice;
    // a refusal there is thrown here, in the route's error shape.
    const refusal = (req as Request & { edgeRefusal?: unknown }).edgeRefusal;
    if (refusal !== undefined) throw refusal;
    let key = req.preauthenticatedKey ?? null;
    if (!key) {
      const secret = extractKey(req);
      if (!secret) throw AppError.unauthorized('API key required: send it as X-API-Key or Authorization: Bearer');
      this.failures.assertAllowed(this.failures.ipOf(req));
      key = await this.keys.authenticate(secret);
    }
    if (!key) {
      this.failures.recordFailure(this.failures.ipOf(req));
      throw AppError.unauthorized('API key is unknown, revoked or expired');
    }
    if (!key.scopes.includes(scope) && !key.scopes.includes('admin')) {
      throw new AppError(HttpStatus.FORBIDDEN, 'FORBIDDEN', `API key lacks the "${scope}" scope`);
    }
    (req as Request & { apiKey?: AuthenticatedKey }).apiKey = key;
    return true;
  }
}

/** The API key a request carries (`X-API-Key`, or `Authorization: Bearer`), trimmed; undefined without one. */
export function extractKey(req: Pick<Request, 'headers'>): string | undefined {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header.trim()) return header.trim();
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim() || undefined;
  return undefined;
}
