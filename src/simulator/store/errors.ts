/** A store write that cannot be done (unknown reference, bad combination); routes answer `status`. */
export class WriteRefused extends Error {
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
    this.name = 'WriteRefused';
  }
}
