import { MediaModule } from '../media/media.module';
import { Module, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { WebhookEdge } from '../ingest/webhook-edge';
import { MetaSignatureGuard } from '../providers/meta/meta-signature.guard';
import { WablasSecretGuard } from '../providers/wablas/wablas-secret.guard';
import { WwebjsAuthGuard } from '../providers/wwebjs/wwebjs-auth.guard';
import { IngestModule } from '../ingest/ingest.module';
import { ProvidersModule } from '../providers/providers.module';
import { ConversationsModule } from '../conversations/conversations.module';
import { ContactsModule } from '../contacts/contacts.module';
import { MessagesModule } from '../messages/messages.module';
import { SendingModule } from '../sending/sending.module';
import { SessionsModule } from '../sessions/sessions.module';
import { StatsModule } from '../stats/stats.module';
import { DjangoMetaCompatController } from './django-meta.controller';
import { FlaskBaileysCompatController } from './flask-baileys.controller';
import { NextjsSessionsCompatController } from './nextjs-sessions.controller';
import { OdooWablasCompatController } from './odoo-wablas.controller';
import { OdooHistoryRepository } from './odoo-wablas.repository';
import { DjangoAdminRedirectController } from './django-admin.controller';
import { SEED_PATH_ERROR_SHAPES } from './seed-error.filter';
import { PATH_ERROR_SHAPES } from '../common/http-exception.filter';

/**
 * One thin controller per seed system, mapping its routes and shapes onto our services. Exports the seeds' error
 * shapes by path ({@link PATH_ERROR_SHAPES}) to the global filter, for errors raised before a route runs.
 */
@Module({
  imports: [
    IngestModule,
    ProvidersModule,
    SessionsModule,
    ContactsModule,
    ConversationsModule,
    MessagesModule,
    SendingModule,
    StatsModule,
    MediaModule,
  ],
  controllers: [
    OdooWablasCompatController,
    NextjsSessionsCompatController,
    DjangoMetaCompatController,
    DjangoAdminRedirectController,
    FlaskBaileysCompatController,
  ],
  providers: [OdooHistoryRepository, { provide: PATH_ERROR_SHAPES, useValue: SEED_PATH_ERROR_SHAPES }],
  exports: [PATH_ERROR_SHAPES],
})
export class CompatModule implements OnModuleInit {
  constructor(
    private readonly edge: WebhookEdge,
    private readonly config: AppConfig,
    private readonly meta: MetaSignatureGuard,
    private readonly wablas: WablasSecretGuard,
    private readonly wwebjs: WwebjsAuthGuard,
  ) {}

  /** The seeds' webhook URLs, admitted at the edge by the credentials of the providers they carry. */
  onModuleInit(): void {
    this.edge.protect({ paths: ['/api/wa/webhook'], guards: [this.wablas] });
    // Seed s1/s4's universal and per-session wwebjs webhook is also seed s3's Meta URL (provider chosen by body).
    this.edge.protect({
      paths: ['/api/whatsapp/webhook'],
      guards: [this.wwebjs, this.meta],
      bodyLimit: this.config.WWEBJS_BODY_LIMIT_BYTES,
    });
  }
}
