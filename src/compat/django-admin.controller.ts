import { Controller, Get, Redirect } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../auth/api-key.guard';

/** Where the console shows received messages (its hash route). */
export const CONSOLE_INBOX = '/inbox';

/**
 * Seed s3's "Where to See Incoming Messages": the Django admin at `/admin/` and its message list
 * `/admin/whatsapp/whatsappmessage/` lead to the console's message browser. A browser redirect needs no key (the
 * console asks for one itself). Browser navigation, not API: left out of the OpenAPI document.
 */
@ApiExcludeController()
@Public()
@Controller('admin')
export class DjangoAdminRedirectController {
  @Get(['', 'whatsapp', 'whatsapp/whatsappmessage'])
  @Redirect(CONSOLE_INBOX, 302)
  admin(): void {}
}
