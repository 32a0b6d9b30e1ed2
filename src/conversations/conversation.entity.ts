import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';
import { ContactEntity } from '../contacts/contact.entity';
import { SessionEntity } from '../sessions/session.entity';

/** The thread between one session and one chat (a contact or a group). Counters are maintained in SQL on ingest. */
@Entity('conversations')
@Unique('uq_conversations_session_chat', ['sessionId', 'chatId'])
export class ConversationEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'session_id', type: 'uuid' })
  sessionId: string;

  @ManyToOne(() => SessionEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'session_id' })
  session?: SessionEntity;

  /** The contact's E.164 digits, or the group id for groups. */
  @Column({ name: 'chat_id', type: 'varchar', length: 128 })
  chatId: string;

  @Column({ name: 'is_group', type: 'boolean', default: false })
  isGroup: boolean;

  @Column({ name: 'contact_id', type: 'uuid', nullable: true })
  contactId: string | null;

  @ManyToOne(() => ContactEntity, { onDelete: 'SET NULL', nullable: true })
  @JoinColumn({ name: 'contact_id' })
  contact?: ContactEntity | null;

  /** Group subject, when the chat is a group. */
  @Column({ type: 'varchar', length: 200, nullable: true })
  subject: string | null;

  @Column({ name: 'last_message_at', type: 'timestamptz', nullable: true })
  lastMessageAt: Date | null;

  @Column({ name: 'last_message_preview', type: 'varchar', length: 200, nullable: true })
  lastMessagePreview: string | null;

  @Column({ name: 'last_message_direction', type: 'varchar', length: 3, nullable: true })
  lastMessageDirection: 'in' | 'out' | null;

  @Column({ name: 'message_count', type: 'integer', default: 0 })
  messageCount: number;

  @Column({ name: 'unread_count', type: 'integer', default: 0 })
  unreadCount: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
