import { Controller, Get, HttpStatus, Param, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../auth/api-key.guard';
import { AppError } from '../common/app-error';
import { ConsoleAssets } from './console-assets';

/**
 * Client-side routes of the console (console/src/main.tsx `ROUTES`): each answers `index.html`. Listed one by
 * one, never a catch-all, so the console cannot shadow `/v1`, `/api`, `/docs`, `/health`, `/webhooks`,
 * `/socket.io` or a prefix added later; an unknown path stays a 404 in our error shape.
 */
export const CONSOLE_ROUTES = ['/', '/inbox', '/stats', '/developer'] as const;

/**
 * The web console (issue 12): the Preact build in `dist/console` served at `/` (no key: the page asks for one and
 * sends it as `X-API-Key`). `index.html` is revalidated on every load (ETag); hashed `/assets/*` are immutable.
 * Served under the strict CSP of src/configure-app.ts (`script-src 'self'`, no inline script or style).
 * @throws AppError 503 `SERVICE_UNAVAILABLE` when the console has not been built (`npm run build` builds it),
 *   404 `NOT_FOUND` for an unknown asset.
 */
@ApiExcludeController()
@Public()
@Controller()
export class ConsoleController {
  constructor(private readonly assets: ConsoleAssets) {}

  @Get([...CONSOLE_ROUTES])
  index(@Req() req: Request, @Res() res: Response): void {
    if (!this.assets.built())
      throw new AppError(HttpStatus.SERVICE_UNAVAILABLE, 'SERVICE_UNAVAILABLE', 'The console is not built: run `npm run build`');
    this.send('index.html', req, res);
  }

  @Get('assets/:file')
  asset(@Param('file') file: string, @Req() req: Request, @Res() res: Response): void {
    this.send(`assets/${file}`, req, res);
  }

  @Get('favicon.svg')
  favicon(@Req() req: Request, @Res() res: Response): void {
    this.send('favicon.svg', req, res);
  }

  private send(path: string, req: Request, res: Response): void {
    // Route parameters never hold a `/`; a `..` or dot file is refused before any lookup.
    if (!/^[\w-]+(\.[\w-]+)*(\/[\w-]+(\.[\w-]+)*)?$/.test(path)) throw AppError.notFound('File');
    const f = this.assets.file(path);
    if (!f) throw AppError.notFound('File');
    res.setHeader('Content-Type', f.contentType);
    res.setHeader('ETag', f.etag);
    res.setHeader('Cache-Control', f.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    res.setHeader('Vary', 'Accept-Encoding');
    if (req.headers['if-none-match'] === f.etag) {
      res.status(304).end();
      return;
    }
    const gzip = f.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    if (gzip) res.setHeader('Content-Encoding', 'gzip');
    const body = gzip ? f.gzip! : f.body;
    res.setHeader('Content-Length', body.length);
    res.status(200).end(body);
  }
}
