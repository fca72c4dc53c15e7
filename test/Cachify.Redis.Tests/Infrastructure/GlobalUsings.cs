// The redis-server the tests start is the one the benchmarks and the soak tool start (eng/LocalRedisServer.cs).
global using RedisServer = CachifyNet.Testing.LocalRedisServer;
