// The one object every command and event receives: passed as a parameter, never a global.
import type { Client } from 'discord.js';
import type { AlertService } from './alerts/service.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { PartiClient } from './parti/client.js';
import type { PartyPanels } from './party/panel.js';
import type { PartyService } from './party/service.js';
import type { SchedulesService } from './schedules/service.js';
import type { PartyThreads } from './party/thread.js';
import type { Store } from './store/index.js';

export interface Deps {
  config: Config;
  logger: Logger;
  store: Store;
  parti: PartiClient;
  client: Client;
  alerts: AlertService;
  party: PartyService;
  /** the Discord panels of watch parties */
  panels: PartyPanels;
  /** Parti schedules in the Events tab, and planned watch parties */
  schedules: SchedulesService;
  /** the Discord chat threads of watch parties */
  threads: PartyThreads;
  /** shuttingDown is set by SIGTERM/SIGINT (stop taking new work); inFlight counts running handlers */
  lifecycle: { shuttingDown: boolean; inFlight: number };
}
