// HTTP Basic, as the appliances send their credentials.

/** The `Authorization` value for `user:password`. */
export function basicAuthorization(user, password) {
  return "Basic " + Buffer.from(`${user}:${password}`).toString("base64");
}
