import { BadRequestException, INestApplication, ValidationError, ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { json, raw, text } from 'body-parser';
import helmet from 'helmet';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './common/json-depth';
import type { IncomingMessage } from 'node:http';
import { AppError } from './common/app-error';
import { NoNulPipe } from './common/no-nul.pipe';
import { requestIdMiddleware } from './common/request-id';
import { AppConfig } from './config/app-config';
import { WebhookFastLane } from './ingest/webhook-fast-lane';
import metadata from './metadata';

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
  // The Swagger UI needs inline scripts and styles; everything else gets helmet's defaults.
  const securityHeaders = helmet({ contentSecurityPolicy: { directives: { 'script-src': ["'self'", "'unsafe-inline'"], 'style-src': ["'self'", "'unsafe-inline'", 'https:'] } } });
  app.use(securityHeaders);
  const origins = config.CORS_ORIGINS?.split(',').map((o) => o.trim()).filter(Boolean) ?? [];
  if (origins.length > 0) app.enableCors({ origin: origins, exposedHeaders: ['X-Request-Id', 'Retry-After'], maxAge: 600 });
  // wwebjs `media` webhooks carry whole files base64-encoded: their routes get a larger limit, parsed first.
  const wwebjsJson = json({ limit: config.WWEBJS_BODY_LIMIT_BYTES, verify: keepRawBody });
  app.use(['/webhooks/wwebjs', '/api/whatsapp/webhook'], wwebjsJson);
  // Contact imports: 10,000+ rows as CSV text or a JSON array.
  app.use('/v1/contacts/import', json({ limit: '20mb', verify: keepRawBody }), text({ type: ['text/csv', 'text/plain', 'application/csv'], limit: '20mb' }));
  app.use(json({ limit: config.BODY_LIMIT_BYTES, type: ['application/json', 'application/*+json'], verify: keepRawBody }));
  app.useBodyParser('urlencoded', { limit: config.BODY_LIMIT_BYTES, extended: true });
  // Webhook routes keep the exact bytes of any other content type too (text/plain, octet-stream, ...): nothing a
  // provider delivers is reduced to an empty body (IncomingWebhook.fromRequest).
  app.use(['/webhooks', '/api'], raw({ type: () => true, limit: config.BODY_LIMIT_BYTES }));
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
  const document = await buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', raw: ['json'] });
  return document;
}

/** Builds the OpenAPI document from the controllers and the generated plugin metadata (src/metadata.ts). */
export async function buildOpenApiDocument(app: INestApplication): Promise<OpenAPIObject> {
  await SwaggerModule.loadPluginMetadata(metadata);
  const options = new DocumentBuilder()
    .setTitle('wa-hub')
    .setDescription(
      'One place for an organisation\'s WhatsApp traffic: Meta Cloud API, Wablas, whatsapp-web.js and Baileys ' +
        'webhooks normalised into one store. Authenticate with `X-API-Key: <key>` or `Authorization: Bearer <key>`. ' +
        'Errors answer `{ "error": { "code", "message", "details" }, "requestId" }`; compat routes keep their seed\'s shape.',
    )
    .setVersion('0.1.0')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'apiKey')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The API key as a bearer token' }, 'bearer')
    .build();
  return SwaggerModule.createDocument(app, options);
}

/** body-parser `verify`: keeps the exact bytes (signatures are over them) and refuses absurdly deep JSON. */
function keepRawBody(req: IncomingMessage, _res: unknown, buf: Buffer): void {
  if (jsonDepthExceeds(buf, MAX_JSON_DEPTH)) {
    throw Object.assign(new Error(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`), { status: 400, type: 'entity.verify.failed' });
  }
  (req as IncomingMessage & { rawBody?: Buffer }).rawBody = buf;
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
