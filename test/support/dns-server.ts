import { Packet, createUDPServer, type Resource, type UDPServer } from "dns2";

/** What the server holds for one name: TXT records (each a list of character-strings) and/or a CNAME. */
export interface ZoneEntry {
  txt?: string[][];
  cname?: string;
}

export type DnsBehaviour = "answer" | "servfail" | "refused" | "silent";

/**
 * A real authoritative-style DNS server on loopback UDP for tests, answering
 * like a recursive resolver would: TXT records of a name, CNAMEs followed
 * within the zone, NXDOMAIN for unknown names and NODATA for names without
 * TXT. `behaviour` turns it into a failing server (SERVFAIL, REFUSED, or no
 * answer at all, for timeouts).
 */
export class TestDnsServer {
  readonly zone = new Map<string, ZoneEntry>();
  behaviour: DnsBehaviour = "answer";
  /** Names asked so far, lower-cased, in order. */
  readonly queries: string[] = [];
  readonly #server: UDPServer;
  #port = 0;

  constructor() {
    this.#server = createUDPServer((request, send) => {
      const response = this.#answer(request);
      if (response) void send(response);
    });
  }

  /** `127.0.0.1:PORT`, the value for AGENT_GATE_DNS_SERVERS. */
  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  /** Listens on loopback UDP, on `port` (0: any free one). */
  async start(port = 0): Promise<this> {
    await this.#server.listen(port, "127.0.0.1");
    this.#port = this.#server.address().port;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Replace the records of one name (case-insensitive, trailing dot ignored). */
  set(name: string, entry: ZoneEntry): void {
    this.zone.set(key(name), entry);
  }

  remove(name: string): void {
    this.zone.delete(key(name));
  }

  reset(): void {
    this.zone.clear();
    this.queries.length = 0;
    this.behaviour = "answer";
  }

  #answer(request: Packet): Packet | undefined {
    const response = Packet.createResponseFromRequest(request);
    response.header.ra = 1;
    const [question] = request.questions;
    if (!question) return response;
    this.queries.push(key(question.name));
    if (this.behaviour === "silent") return undefined;
    if (this.behaviour === "servfail" || this.behaviour === "refused") {
      response.header.rcode = this.behaviour === "servfail" ? RCODE.SERVFAIL : RCODE.REFUSED;
      return response;
    }
    let name = question.name;
    for (let hops = 0; hops < 8; hops += 1) {
      const entry = this.zone.get(key(name));
      if (!entry) {
        if (hops === 0) response.header.rcode = RCODE.NXDOMAIN;
        return response;
      }
      if (entry.cname !== undefined && question.type !== Packet.TYPE.CNAME) {
        response.answers.push(resource(name, Packet.TYPE.CNAME, { domain: entry.cname }));
        name = entry.cname;
        continue;
      }
      if (question.type === Packet.TYPE.TXT) {
        for (const strings of entry.txt ?? []) {
          response.answers.push(resource(name, Packet.TYPE.TXT, { data: strings }));
        }
      }
      return response;
    }
    return response;
  }
}

// RFC 1035 §4.1.1 response codes (dns2's typings do not export them).
const RCODE = { SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

function resource(name: string, type: number, record: Partial<Resource>): Resource {
  return Object.assign(new Packet.Resource(name, type, Packet.CLASS.IN, 60), record);
}

function key(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

export async function startDnsServer(): Promise<TestDnsServer> {
  return new TestDnsServer().start();
}
