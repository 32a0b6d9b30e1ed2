/**
 * Child process of `npm run bench:baileys` (forked by forkFakeFleet in bench/baileys-fake-fleet.ts): runs a
 * {@link FakeFleet} and answers the bench process's requests over IPC. Exits when the IPC channel closes.
 */
import { FakeFleet, type FleetReply, type FleetRequest } from './baileys-fake-fleet';

const send = (reply: FleetReply) => process.send!(reply);

void FakeFleet.start().then((fleet) => {
  process.on('message', (raw) => {
    const { id, method, args } = raw as FleetRequest;
    const run = async (): Promise<unknown> => {
      switch (method) {
        case 'addWorlds':
          return fleet.addWorlds(args[0] as number);
        case 'memory':
          return fleet.memory();
        case 'scan':
          return fleet.scan(args[0] as string);
        case 'unroutedLogins':
          return fleet.unroutedLogins();
        case 'load':
          return fleet.load(args[0] as Parameters<FakeFleet['load']>[0], (ids) => send({ sent: ids }));
        case 'results':
          return fleet.results();
        case 'close':
          return fleet.close();
      }
    };
    run().then(
      (result) => send({ id, result }),
      (e: unknown) => send({ id, error: e instanceof Error ? e.message : String(e) }),
    );
  });
  send({ ready: { url: fleet.url, rootPublicKey: fleet.rootPublicKey } });
});
process.on('disconnect', () => process.exit(0));
