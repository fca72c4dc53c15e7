using CachifyNet.Conformance;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// The Redis backend runs the store conformance suite on the class's Redis (a redis-server of its own, or the
/// endpoint of <c>CACHIFY_REDIS_ENDPOINT</c>, as Garnet's run sets), each test under its own key prefix. Redis ages
/// entries by its own clock, so <see cref="AgeStoredEntries"/> moves each entry's written-at time back and shortens
/// its expiry; the fake clock drives never-die refreshes. Backends on a second multiplexer stand for other processes.
/// </summary>
public sealed class RedisConformanceTests(RedisServerFixture fixture) : CacheStoreConformanceTests, IClassFixture<RedisServerFixture>
{
    /// <summary>
    /// Makes one value key older by ARGV[1] ms: its written-at time (the envelope's first 8 bytes, big-endian ms) moves
    /// back, and its remaining PX shrinks by as much (the key is deleted, as Redis would expire it, when none is left).
    /// Arithmetic rather than struct.pack, which Garnet gets wrong for 8-byte integers.
    /// </summary>
    private const string AgeScript = """
        local v = redis.call('GET', KEYS[1])
        if not v or string.len(v) < 8 then return 0 end
        local by = tonumber(ARGV[1])
        local n = 0
        for i = 1, 8 do n = n * 256 + string.byte(v, i) end
        n = n - by
        local b = {}
        for i = 8, 1, -1 do b[i] = string.char(n % 256) n = math.floor(n / 256) end
        local aged = table.concat(b) .. string.sub(v, 9)
        local left = redis.call('PTTL', KEYS[1])
        if left < 0 then redis.call('SET', KEYS[1], aged) return 1 end
        if left <= by then redis.call('DEL', KEYS[1]) return 2 end
        redis.call('SET', KEYS[1], aged, 'PX', left - by)
        return 1
        """;

    private readonly string _prefix = "c" + Guid.NewGuid().ToString("N")[..10];

    protected override string? SkipReason => RedisRequirement.SkipReason;

    protected override bool ClockDrivesExpiry => false;

    protected override bool HasCrossProcessLock => true;

    protected override ICacheBackend CreateBackend(TimeProvider time) => NewBackend(fixture.Connection, time);

    protected override ICacheBackend? CreateBackendOfAnotherProcess(TimeProvider time) => NewBackend(Own(fixture.Connect()), time);

    protected override bool? IsWaitingForAnotherProcess(ICacheBackend backend) => ((RedisCacheBackend)backend).Context.Waiters.Count > 0;

    protected override Task? BackgroundWorkDone(ICacheBackend backend) => backend.Services.WhenIdle();

    protected override StoreFault? CreateFaultyStore(StoreErrors errors, bool localLevel) => new RedisFault(errors == StoreErrors.Throw ? RedisErrorMode.Throw : RedisErrorMode.Silent, localLevel, Time);

    protected override void AgeStoredEntries(TimeSpan by)
    {
        // The value keys of this test: "{prefix}:{name:args}" (locks and wait markers are "{prefix}:lock:..." and "{prefix}:wait:...").
        var db = fixture.Connection.GetDatabase();
        var ms = (long)by.TotalMilliseconds;
        foreach (var server in fixture.Connection.GetServers().Where(s => !s.IsReplica))
        {
            foreach (var key in server.Keys(pattern: _prefix + ":{*", pageSize: 1000))
            {
                db.ScriptEvaluate(AgeScript, [key], [ms]);
            }
        }
    }

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
