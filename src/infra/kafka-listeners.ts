// Secured listeners for the local Kafka, next to its PLAINTEXT one (which the harness itself keeps using
// for readiness and warm-up): SASL_SSL with SCRAM-SHA-512, as Amazon MSK and Aiven offer it, and an SSL
// listener that requires a client certificate (mTLS). Key, certificate and trusted CA are PEM files
// (ssl.keystore.type=PEM, Kafka 2.7+), so no keytool is needed. SCRAM credentials of a KRaft cluster live
// in its metadata log: StorageTool writes them at format time (`--add-scram`), so they survive restarts.

export interface ScramUser {
  name: string;
  password: string;
}

export interface SecureListenerOptions {
  /** One PEM file: the broker's private key (unencrypted PKCS#8) followed by its certificate chain. */
  keystore: string;
  /** PEM file of the CA(s) whose client certificates the mTLS listener accepts. */
  truststore: string;
  /** Adds a SASL_SSL listener with SCRAM-SHA-512 for these users. */
  scramUsers?: ScramUser[];
  /** Adds an SSL listener with ssl.client.auth=required. */
  mtls?: boolean;
}

export interface SecurePorts {
  saslSsl?: number;
  mtls?: number;
}

/** The listener names, their protocols and ports, for server.properties. */
export function secureListeners(ports: SecurePorts): Array<{ name: string; protocol: string; port: number }> {
  return [
    ...(ports.saslSsl !== undefined ? [{ name: 'SASL_SSL', protocol: 'SASL_SSL', port: ports.saslSsl }] : []),
    ...(ports.mtls !== undefined ? [{ name: 'MTLS', protocol: 'SSL', port: ports.mtls }] : []),
  ];
}

/** The TLS and SASL lines of server.properties for the secured listeners. */
export function secureListenerProperties(o: SecureListenerOptions, ports: SecurePorts): string {
  if (ports.saslSsl === undefined && ports.mtls === undefined) return '';
  return [
    '# TLS on the secured listeners: PEM files, no JKS',
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${o.keystore}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${o.truststore}`,
    ...(ports.saslSsl !== undefined
      ? [
          'listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512',
          // The broker side of SCRAM needs the login module named, but no credentials of its own (inter-broker traffic is PLAINTEXT).
          'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
        ]
      : []),
    ...(ports.mtls !== undefined ? ['listener.name.mtls.ssl.client.auth=required'] : []),
    '',
  ].join('\n');
}

/** StorageTool arguments creating the SCRAM users in the metadata log (`--add-scram` exists since Kafka 3.5). */
export function scramFormatArgs(users: readonly ScramUser[] = []): string[] {
  return users.flatMap((u) => {
    if (!/^[A-Za-z0-9._-]+$/.test(u.name) || !/^[A-Za-z0-9._~+-]+$/.test(u.password)) {
      throw new Error(`SCRAM user ${u.name}: names and passwords of the test broker must be [A-Za-z0-9._-] (StorageTool parses name=…,password=… without quoting)`);
    }
    return ['--add-scram', `SCRAM-SHA-512=[name=${u.name},password=${u.password}]`];
  });
}
