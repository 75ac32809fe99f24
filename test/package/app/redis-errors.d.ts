// ioredis's own declarations import `redis-errors`, which ships none: a strict app
// (`skipLibCheck: false`) that uses ioredis declares it, with or without tokenwire.
declare module 'redis-errors';
