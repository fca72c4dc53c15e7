using CachifyNet.Conformance;
using CachifyNet.Stores;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// The store conformance suite on a <see cref="CacheStoreBackend"/> over a <see cref="RedisCacheStore"/>, on the class's
/// Redis (a redis-server of its own, a cluster, or the endpoint of <c>CACHIFY_REDIS_ENDPOINT</c>), each test under its
/// own key prefix and backplane channel. The local level is on (the default) with a <see cref="RedisBackplane"/> between
/// the processes; a backend on a second multiplexer (its own store and backplane) stands for another process, and the
/// store's lock (<see cref="RedisCacheStore.Lock"/>) makes the processes run a function once per key between them. The
/// backend measures entry ages by the test's fake clock (the entry's header), so the fake clock alone ages entries: the
/// stores' PX, in Redis' real time, is as long as the TTL and never lapses within a test.
/// </summary>
public sealed class RedisStoreConformanceTests(RedisServerFixture fixture) : CacheStoreConformanceTests, IClassFixture<RedisServerFixture>
{
    private readonly string _prefix = "s" + Guid.NewGuid().ToString("N")[..10];

    protected override string? SkipReason => RedisRequirement.SkipReason;

    protected override bool HasCrossProcessLock => true;

    protected override bool? IsWaitingForAnotherProcess(ICacheBackend backend) => ((CacheStoreBackend)backend).Context.Waiters.Count > 0;

    protected override ICacheBackend CreateBackend(TimeProvider time) => NewBackend(fixture.Connection, time, CacheStoreErrorMode.Silent, localLevel: true);

    protected override ICacheBackend? CreateBackendOfAnotherProcess(TimeProvider time) => NewBackend(Own(fixture.Connect()), time, CacheStoreErrorMode.Silent, localLevel: true);

    protected override Task? BackgroundWorkDone(ICacheBackend backend) => backend.Services.WhenIdle();

    protected override StoreFault? CreateFaultyStore(StoreErrors errors, bool localLevel)
        => new RedisStoreFault(errors == StoreErrors.Throw ? CacheStoreErrorMode.Throw : CacheStoreErrorMode.Silent, localLevel, Time);

    /// <summary>
    /// A backend of one process on <paramref name="connection"/>: its own store, and with the local level its own backplane
    /// on the test's channel, whose first heartbeat has come back (until then the local level keeps no copies).
    /// </summary>
    private CacheStoreBackend NewBackend(IConnectionMultiplexer connection, TimeProvider time, CacheStoreErrorMode onError, bool localLevel)
    {
        var backplane = localLevel ? Own(NewBackplane(connection)) : null;
        return new CacheStoreBackend(Own(new RedisCacheStore(connection)), new CacheStoreBackendOptions
        {
            KeyPrefix = _prefix,
            TimeProvider = time,
            OnError = onError,
            LocalCache = new LocalCacheOptions { Enabled = localLevel },
            Backplane = backplane,

            // A lock of a minute: renewed every third of it on the thread pool, it cannot lapse on a loaded machine while a
            // test holds an execution at a gate (as in RedisConformanceTests).
            LockTimeout = TimeSpan.FromMinutes(1),
        });
    }

    private RedisBackplane NewBackplane(IConnectionMultiplexer connection)
    {
        var backplane = new RedisBackplane(connection, new RedisBackplaneOptions { Channel = _prefix + ":backplane" });
        Bounded.Until(() => backplane.IsConnected, "the backplane's first heartbeat came back");
        return backplane;
    }

    /// <summary>A redis-server of its own behind a fixed endpoint, killed (SIGKILL) and started again empty.</summary>
    private sealed class RedisStoreFault : StoreFault
    {
        private readonly RestartableRedis _server = new();
        private readonly ConnectionMultiplexer _connection;
        private readonly RedisCacheStore _store;
        private readonly RedisBackplane? _backplane;
        private readonly CacheStoreBackend _backend;

        public RedisStoreFault(CacheStoreErrorMode mode, bool localLevel, TimeProvider time)
        {
            _connection = _server.Connect();
            _store = new RedisCacheStore(_connection);
            if (localLevel)
            {
                _backplane = new RedisBackplane(_connection, new RedisBackplaneOptions { Channel = "faults:backplane" });
                Bounded.Until(() => _backplane.IsConnected, "the backplane's first heartbeat came back");
            }

            _backend = new CacheStoreBackend(_store, new CacheStoreBackendOptions
            {
                KeyPrefix = "faults",
                OnError = mode,
                LocalCache = new LocalCacheOptions { Enabled = localLevel },
                Backplane = _backplane,
                TimeProvider = time,
            });
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
            _backplane?.Dispose();
            _store.Dispose();
            _connection.Dispose();
            _server.Dispose();
        }
    }
}
