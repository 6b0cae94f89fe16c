/**
 * A TLS handshake with the first broker before kafkajs connects. kafkajs treats every socket error as
 * retriable, so an untrusted certificate or a refused client certificate would only surface after its
 * retries (about 10 s a client); this check fails in one round trip instead, with the same message
 * (kafka/errors.ts). It sends an ApiVersions request, which every listener answers before any SASL
 * exchange: under TLS 1.3 a broker refuses a client certificate only after the client's handshake has
 * completed, so the handshake alone proves nothing. Anything else (refused, timed out) is left to kafkajs
 * and the callers' retries: a broker that is down is an outage, not a bad setting.
 */
import { isIP } from 'node:net';
import { connect } from 'node:tls';
import { asKafkaError, classifyKafkaError } from './errors.ts';
import { kafkajsSecurity, type KafkaSecurity } from './security.ts';

const CHECK_TIMEOUT_MS = 5_000;

export async function checkTls(broker: string, security: KafkaSecurity): Promise<void> {
  const { ssl } = kafkajsSecurity(security);
  if (!ssl) return;
  const i = broker.lastIndexOf(':');
  const host = broker.slice(0, i);
  const port = Number(broker.slice(i + 1));
  const failure = await new Promise<Error | undefined>((resolve) => {
    const socket = connect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...(ssl === true ? {} : ssl) });
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(err);
    };
    const timer = setTimeout(() => done(), CHECK_TIMEOUT_MS);
    socket.once('secureConnect', () => socket.write(apiVersionsRequest()));
    socket.once('data', () => done());
    socket.once('error', (err) => done(err));
    socket.once('close', () => done());
  });
  if (failure && classifyKafkaError(failure) === 'auth') throw asKafkaError(failure, `connecting to ${broker} (TLS handshake)`);
}

/** ApiVersions v0: size, api key 18, version 0, correlation id, client id; an empty body. */
function apiVersionsRequest(): Buffer {
  const clientId = Buffer.from('pipedrive-cdc-tls-check');
  const header = Buffer.alloc(10);
  header.writeInt16BE(18, 0);
  header.writeInt16BE(0, 2);
  header.writeInt32BE(1, 4);
  header.writeInt16BE(clientId.length, 8);
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + clientId.length, 0);
  return Buffer.concat([size, header, clientId]);
}
