import { BadRequestException, INestApplication, ValidationError, ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { json, text, urlencoded } from 'body-parser';
import helmet from 'helmet';
import { AppError } from './common/app-error';
import { NoNulPipe } from './common/no-nul.pipe';
import { requestIdMiddleware } from './common/request-id';
import { AppConfig } from './config/app-config';
import { WebhookEdge, keepRawBody, unlessRefused } from './ingest/webhook-edge';
import { WebhookFastLane } from './ingest/webhook-fast-lane';
import metadata from './metadata';
import { fixPluginTypes } from './common/openapi-types';
import { enumerateProviders, finishOpenApiDocument, operationIdOf } from './common/openapi-contract';
import { PATH_ERROR_SHAPES, type PathErrorShape } from './common/http-exception.filter';
import { ProviderRegistry } from './domain/provider-definition';
import { observeHttp } from './observability/http-observer';
import { Metrics } from './observability/metrics';
import { ROOT_LOGGER } from './observability/observability.module';

/** Options every wa-hub app is created with (main.ts and the tests): raw bodies kept for signature checks. */
export const APP_OPTIONS = { rawBody: true, bodyParser: false } as const;

/**
 * Everything main.ts and the e2e tests share: body parsers with our size limit, request ids, validation,
 * Swagger at `/docs` and `/docs-json`.
 * @returns the OpenAPI document served at `/docs-json`.
 */
export async function configureApp(app: NestExpressApplication): Promise<OpenAPIObject> {
  const config = app.get(AppConfig);
  app.disable('x-powered-by');
  // Hop count, never `true`: trusting every proxy would let clients forge X-Forwarded-For (STACK.md pitfall 7).
  if (config.TRUST_PROXY > 0) app.set('trust proxy', config.TRUST_PROXY);
  app.use(requestIdMiddleware);
  // Security headers (helmet) with two Content-Security-Policies. Neither has helmet's default
  // `upgrade-insecure-requests`: it made /docs blank over plain HTTP from any host but localhost (every asset
  // rewritten to https). The console and every API response get the strict one: no inline script or style, images
  // from the console itself or the QR's data:/blob: URLs, fetch/Socket.IO to the same origin only ('self' covers
  // ws:/wss: to the same host and port, CSP Level 3), no framing. The Swagger UI page at /docs has inline <style>
  // blocks, so /docs alone also allows inline styles (and same-origin framing, helmet's default); its scripts are
  // files, 'self' as everywhere (checked in Chromium by test/console.browser.e2e-spec.ts, which loads both from a
  // non-localhost host over plain HTTP).
  const strict = {
    'default-src': ["'self'"],
    'base-uri': ["'self'"],
    'connect-src': ["'self'"],
    'font-src': ["'self'", 'data:'],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
    'img-src': ["'self'", 'data:', 'blob:'],
    'object-src': ["'none'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'"],
    'upgrade-insecure-requests': null,
  };
  const securityHeaders = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: strict },
    frameguard: { action: 'deny' },
  });
  const docsHeaders = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { ...strict, 'style-src': ["'self'", "'unsafe-inline'"], 'frame-ancestors': ["'self'"] },
    },
  });
  app.use((req: Request, res: Response, next: NextFunction) =>
    (/^\/docs(\/|$)/.test(req.path) ? docsHeaders : securityHeaders)(req, res, next),
  );
  const origins =
    config.CORS_ORIGINS?.split(',')
      .map((o) => o.trim())
      .filter(Boolean) ?? [];
  if (origins.length > 0) app.enableCors({ origin: origins, exposedHeaders: ['X-Request-Id', 'Retry-After'], maxAge: 600 });
  // Bodies are admitted at one edge: webhook routes after their credential precheck, with parsers that keep the
  // exact bytes; every other body only with a valid API key (nothing unauthenticated is buffered or parsed).
  app.use(app.get(WebhookEdge).middleware);
  // Contact imports: 10,000+ rows as CSV text or a JSON array.
  app.use(
    '/v1/contacts/import',
    unlessRefused(json({ limit: '20mb', verify: (req, _res, buf) => keepRawBody(req, buf) })),
    unlessRefused(text({ type: ['text/csv', 'text/plain', 'application/csv'], limit: '20mb' })),
  );
  app.use(
    unlessRefused(
      json({
        limit: config.BODY_LIMIT_BYTES,
        type: ['application/json', 'application/*+json'],
        verify: (req, _res, buf) => keepRawBody(req, buf),
      }),
    ),
  );
  app.use(
    unlessRefused(
      urlencoded({ limit: config.BODY_LIMIT_BYTES, extended: true, verify: (req, _res, buf) => Object.assign(req, { rawBody: buf }) }),
    ),
  );
  app.useGlobalPipes(
    new NoNulPipe(),
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) => validationError(errors),
    }),
  );
  app.get(WebhookFastLane).attach(app.getHttpServer(), securityHeaders);
  // Outermost: every request, whichever listener answers it, is logged and counted.
  observeHttp(app.getHttpServer(), app.get(ROOT_LOGGER), app.get(Metrics));
  const document = await buildOpenApiDocument(app);
  const providers = app.get(ProviderRegistry);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    raw: ['json'],
    // Providers register when the app initialises, after this: their names are filled in when the document is served.
    patchDocumentOnRequest: (_req, _res, doc) => enumerateProviders(doc, providers.names()),
  });
  return document;
}

/** Builds the OpenAPI document from the controllers and the generated plugin metadata (src/metadata.ts). */
export async function buildOpenApiDocument(app: INestApplication): Promise<OpenAPIObject> {
  await SwaggerModule.loadPluginMetadata(metadata);
  const options = new DocumentBuilder()
    .setTitle('wa-hub')
    .setDescription(
      "One place for an organisation's WhatsApp traffic: Meta Cloud API, Wablas, whatsapp-web.js and Baileys " +
        'webhooks normalised into one store. Authenticate with `X-API-Key: <key>` or `Authorization: Bearer <key>`. ' +
        'Errors answer `{ "error": { "code", "message", "details" }, "requestId" }`; compat routes keep their seed\'s shape.',
    )
    .setVersion('0.1.0')
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addServer('/', 'This wa-hub (the origin the document was fetched from)')
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key (`POST /v1/api-keys`, or `ADMIN_API_KEY`)' },
      'apiKey',
    )
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'API key',
        description: 'The same API key as `Authorization: Bearer <key>`: an opaque wa-hub key, not a JWT',
      },
      'bearer',
    )
    .build();
  const document = SwaggerModule.createDocument(app, options, { operationIdFactory: operationIdOf });
  await fixPluginTypes(document, (await metadata()) as unknown as Parameters<typeof fixPluginTypes>[1]);
  finishOpenApiDocument(document, { errorShapes: app.get<readonly PathErrorShape[]>(PATH_ERROR_SHAPES, { strict: false }) ?? [] });
  return document;
}

function validationError(errors: ValidationError[]): BadRequestException | AppError {
  const details = flatten(errors);
  const message = details.map((d) => d.errors.join('; ')).join('; ') || 'Validation failed';
  return AppError.badRequest(message, details);
}

function flatten(errors: ValidationError[], prefix = ''): { field: string; errors: string[] }[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = e.constraints ? [{ field, errors: Object.values(e.constraints) }] : [];
    return [...own, ...flatten(e.children ?? [], field)];
  });
}
