using CachifyNet.Conformance;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// The Redis backend (a <see cref="Stores.CacheStoreBackend"/> over a <see cref="RedisCacheStore"/>, with its lock, and a
/// <see cref="RedisBackplane"/>) runs the store conformance suite on the class's Redis (a redis-server of its own, a
/// cluster, or the endpoint of <c>CACHIFY_REDIS_ENDPOINT</c>, as Garnet's run sets), each test under its own key prefix.
/// The backend measures entry ages by the test's fake clock (the entry's header), so the fake clock alone ages entries:
/// Redis' PX, in real time, is as long as the TTL and never lapses within a test. Backends on a second multiplexer
/// stand for other processes; the store's lock makes them run a function once per key between them.
/// </summary>
public sealed class RedisConformanceTests(RedisServerFixture fixture) : CacheStoreConformanceTests, IClassFixture<RedisServerFixture>
{
    private readonly string _prefix = "c" + Guid.NewGuid().ToString("N")[..10];

    protected override string? SkipReason => RedisRequirement.SkipReason;

    protected override bool HasCrossProcessLock => true;

    protected override ICacheBackend CreateBackend(TimeProvider time) => NewBackend(fixture.Connection, time);

    protected override ICacheBackend? CreateBackendOfAnotherProcess(TimeProvider time) => NewBackend(Own(fixture.Connect()), time);

    protected override bool? IsWaitingForAnotherProcess(ICacheBackend backend) => ((RedisCacheBackend)backend).Context.Waiters.Count > 0;

    protected override Task? BackgroundWorkDone(ICacheBackend backend) => backend.Services.WhenIdle();

    protected override StoreFault? CreateFaultyStore(StoreErrors errors, bool localLevel) => new RedisFault(errors == StoreErrors.Throw ? RedisErrorMode.Throw : RedisErrorMode.Silent, localLevel, Time);

    // A lock of a minute: renewed every third of it on the thread pool, it cannot lapse on a loaded machine while a test
    // holds an execution at a gate (with the default 10 s a starved renewal once let a second process refresh too).
    private RedisCacheBackend NewBackend(IConnectionMultiplexer connection, TimeProvider time)
        => new(connection, new RedisCacheOptions { KeyPrefix = _prefix, TimeProvider = time, LockTimeout = TimeSpan.FromMinutes(1) });

    /// <summary>A redis-server of its own behind a fixed endpoint, killed (SIGKILL) and started again empty.</summary>
    private sealed class RedisFault : StoreFault
    {
        private readonly RestartableRedis _server = new();
        private readonly ConnectionMultiplexer _connection;
        private readonly RedisCacheBackend _backend;

        public RedisFault(RedisErrorMode mode, bool localLevel, TimeProvider time)
        {
            _connection = _server.Connect();
            _backend = new RedisCacheBackend(_connection, new RedisCacheOptions { KeyPrefix = "faults", OnError = mode, LocalCache = new() { Enabled = localLevel }, TimeProvider = time });
            Bounded.Until(() => _backend.LocalLevelTrusted, "the local level's backplane is subscribed");
        }

        public override ICacheBackend Backend => _backend;

        public override void Break()
        {
            _server.Kill();
            Bounded.Until(() => !_connection.IsConnected, "the client saw the connection drop");
        }

        public override void Repair()
        {
            _server.Start();
            Bounded.Until(() => _connection.IsConnected, "the multiplexer reconnected");
        }

        public override bool IsStoreError(Exception error) => error is RedisConnectionException;

        protected override void Dispose(bool disposing)
        {
            _backend.Dispose();
            _connection.Dispose();
            _server.Dispose();
        }
    }
}
