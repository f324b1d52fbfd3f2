/** The Redis Cluster hash slot (0–16383) of a key, honouring `{hash tags}`; the function ioredis routes with. */
declare module 'cluster-key-slot' {
  function calculateSlot(key: string | Buffer): number;
  export default calculateSlot;
}
