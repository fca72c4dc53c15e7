using System.Diagnostics;
using CachifyNet.Internal;
using CachifyNet.Internal.Stores;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// A test class on its own redis-server; every test gets its own key prefix, so tests never see each other's entries.
/// Backends made with <see cref="NewBackend"/> on <see cref="NewConnection"/> stand for other processes: they share
/// nothing with the default backend but Redis itself.
/// </summary>
public abstract class RedisTestBase : IClassFixture<RedisServerFixture>, IDisposable
{
    private readonly List<IDisposable> _owned = [];
    private RedisCacheBackend? _backend;

    protected RedisTestBase(RedisServerFixture fixture)
    {
        Fixture = fixture;
        Prefix = "t" + Guid.NewGuid().ToString("N")[..10];
    }

    protected RedisServerFixture Fixture { get; }

    protected string Prefix { get; }

    protected IDatabase Db => Fixture.Connection.GetDatabase();

    /// <summary>The test's backend, with default options but its own prefix.</summary>
    protected RedisCacheBackend Backend => _backend ??= NewBackend();

    protected RedisCacheBackend NewBackend(RedisCacheOptions? options = null, IConnectionMultiplexer? connection = null, string? prefix = null)
    {
        options ??= new RedisCacheOptions();
        var backend = new RedisCacheBackend(connection ?? Fixture.Connection, new RedisCacheOptions
        {
            KeyPrefix = prefix ?? Prefix,
            LockTimeout = options.LockTimeout,
            LockWaitTimeout = options.LockWaitTimeout,
            OnError = options.OnError,
            Serializer = options.Serializer,
            TimeProvider = options.TimeProvider,
            LoggerFactory = options.LoggerFactory,
            LocalCache = options.LocalCache,
        });
        _owned.Add(backend);
        return backend;
    }

    /// <summary>Waits until <paramref name="backend"/>'s backplane is subscribed: its notices (a stored value, a released lock) reach the other processes from then on.</summary>
    protected static void Subscribed(RedisCacheBackend backend) => Bounded.Until(() => backend.Backplane.IsConnected, "the backplane is subscribed");

    /// <summary>Disposes <paramref name="owned"/> with the test.</summary>
    protected void Owned(IDisposable owned) => _owned.Add(owned);

    /// <summary>A separate multiplexer: with its own backend, it behaves like another process.</summary>
    protected ConnectionMultiplexer NewConnection()
    {
        var connection = Fixture.Connect();
        _owned.Add(connection);
        return connection;
    }

    /// <summary>Every key of this test's prefix, found the way docs/redis.md says: SCAN MATCH {prefix:*.</summary>
    protected List<string> Keys(string? prefix = null)
        => Fixture.Connect() is var c ? Scan(c, "{" + (prefix ?? Prefix) + ":*") : [];

    /// <summary>The values among <see cref="Keys"/>: <c>{prefix:v:identity:arguments}</c>, without generations (<c>{prefix:g:identity}</c>) and locks (<c>…}:lock</c>).</summary>
    protected List<string> ValueKeys(string? prefix = null)
        => Keys(prefix).Where(k => k.StartsWith("{" + (prefix ?? Prefix) + ":v:", StringComparison.Ordinal) && k.EndsWith('}')).ToList();

    /// <summary>The Redis key of a value, written out as docs/redis.md shows it: <c>{prefix:v:identity:arguments}</c>.</summary>
    protected string ValueKeyText(string identityAndArguments, string? prefix = null) => "{" + (prefix ?? Prefix) + ":v:" + identityAndArguments + "}";

    /// <summary>The Redis key of a function's generation (written by its first execution, replaced by Clear): <c>{prefix:g:identity}</c>.</summary>
    protected string GenerationKeyText(string identity, string? prefix = null) => "{" + (prefix ?? Prefix) + ":g:" + identity + "}";

    /// <summary>
    /// Asserts that <paramref name="key"/> expires <paramref name="ttl"/> after a write made once <paramref name="sinceBeforeWrite"/>
    /// had started: the remaining time may be short of the TTL by the time that has passed since (read after Redis answered,
    /// plus 1 ms for Redis' millisecond clock), however long that was on a loaded machine, and by nothing more.
    /// </summary>
    protected void AssertExpiresIn(string key, TimeSpan ttl, Stopwatch sinceBeforeWrite)
    {
        var remaining = (long)Db.Execute("PTTL", key);
        var passed = sinceBeforeWrite.ElapsedMilliseconds;
        var ttlMs = (long)ttl.TotalMilliseconds;
        Assert.InRange(remaining, ttlMs - passed - 1, ttlMs);
    }

    private protected static StoreKeyspace<TKey, TValue> Keyspace<TKey, TValue>(Binding<TKey, TValue>? binding)
        where TKey : struct, IArgsKey<TKey>
        => (StoreKeyspace<TKey, TValue>)(binding ?? throw new InvalidOperationException("The wrapper is not bound yet.")).Keyspace;

    /// <summary>The Redis key of the value of <paramref name="arg"/>: the store key in its hash tag (see <see cref="RedisCacheStore"/>).</summary>
    // A wrapper whose target is part of its keys (a capturing lambda) has keys of their own type, holding the target's key.
    protected static string ValueKey<T1, TResult>(CachedFunc<T1, TResult> f, T1 arg)
        => RedisCacheStore.ValueKey(f.Config.KeyHasTarget
            ? Keyspace(f.EnsureTargetedBound()).ValueKey(new TargetedKey<ArgsKey<T1>>(f.Self, new(arg)))
            : Keyspace(f.EnsureBound()).ValueKey(new ArgsKey<T1>(arg))).ToString();

    protected static string ValueKey<T1, TResult>(AsyncCachedFunc<T1, TResult> f, T1 arg)
        => RedisCacheStore.ValueKey(f.Config.KeyHasTarget
            ? Keyspace(f.EnsureTargetedBound()).ValueKey(new TargetedKey<ArgsKey<T1>>(f.Self, new(arg)))
            : Keyspace(f.EnsureBound()).ValueKey(new ArgsKey<T1>(arg))).ToString();

    /// <summary>The Redis key of the lock beside the value at <paramref name="valueKey"/>.</summary>
    protected static string LockKey(string valueKey) => valueKey + ":lock";

    public void Dispose()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }

        GC.SuppressFinalize(this);
    }

    private static List<string> Scan(ConnectionMultiplexer connection, string pattern)
    {
        using (connection)
        {
            // Every primary: one server, or the shards of a cluster.
            var keys = new List<string>();
            foreach (var server in connection.GetServers().Where(s => !s.IsReplica))
            {
                RedisValue cursor = 0;
                do
                {
                    var reply = (RedisResult[])server.Execute("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)!;
                    cursor = (RedisValue)reply[0];
                    keys.AddRange(((RedisKey[])reply[1]!).Select(k => k.ToString()));
                }
                while (cursor != 0);
            }

            keys.Sort(StringComparer.Ordinal);
            return keys;
        }
    }
}
