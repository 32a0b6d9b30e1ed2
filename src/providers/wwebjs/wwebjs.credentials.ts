import { IsOptional, IsString, IsUrl, MaxLength } from 'class-validator';

/** Per-session whatsapp-web.js server credentials over `WWEBJS_BASE_URL` and `WWEBJS_API_KEY`. */
export class WwebjsCredentials {
  /** The API server, e.g. `http://wwebjs:3000`. */
  @IsOptional() @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false }) @MaxLength(500) baseUrl?: string;
  /** The server's `API_KEY`, sent as `x-api-key`. */
  @IsOptional() @IsString() @MaxLength(500) apiKey?: string;
}
