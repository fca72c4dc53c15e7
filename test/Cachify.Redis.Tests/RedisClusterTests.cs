using CachifyNet.Internal.Stores;
using System.Diagnostics;
using CachifyNet.Internal;
using CachifyNet.Redis.Internal;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// The Redis backend on a local Redis Cluster of 3 primaries and 3 replicas (<see cref="LocalRedisCluster"/>, one for the
/// collection): keys spread over the shards, Clear's concurrent batches, and a primary killed (SIGKILL) under load,
/// failed over to its replica and restarted. The tests of the collection run one at a time; each leaves the cluster healthy.
/// </summary>
[Collection(RedisClusterCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class RedisClusterTests(RedisClusterFixture fixture, ITestOutputHelper output)
{
    /// <summary>
    /// The longest a call may take while a primary is down (the README's bound): a call whose slot owner is down
    /// skips the cache at once instead of waiting in the multiplexer's backlog for the client timeout (2 s here).
    /// </summary>
    private static readonly TimeSpan StallBound = TimeSpan.FromSeconds(1);

    private const int KeyCount = 300;

    private LocalRedisCluster Cluster => fixture.Cluster;

    private static string Prefix() => "c" + Guid.NewGuid().ToString("N")[..10];

    [RedisClusterFact]
    public async Task Wrappers_KeysOnEveryShard_HitInvalidateAndClear()
    {
        using var connection = Cluster.Connect();
        using var backend = new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = Prefix(), OnError = RedisErrorMode.Throw });
        var runs = 0;
        var f = Cachify.Wrap((int x) => { Interlocked.Increment(ref runs); return x * 7; }).Named("cl.basic").NoSelf().Backend(backend);
        var g = Cachify.Wrap((int x, string s) => Task.FromResult(s + x)).Named("cl.basic2").NoSelf().Backend(backend);
        for (var x = 0; x < KeyCount; x++)
        {
            Assert.Equal(x * 7, f.Invoke(x));
            Assert.Equal("a" + x, await g.Invoke(x, "a"));
        }

        // The keys landed on all three primaries.
        var owners = Enumerable.Range(0, KeyCount).Select(x => connection.GetServer((RedisKey)ValueKey(f, x)).EndPoint).Distinct().Count();
        Assert.Equal(3, owners);
        for (var x = 0; x < KeyCount; x++)
        {
            Assert.Equal(x * 7, f.Invoke(x));
        }

        Assert.Equal(KeyCount, runs);
        f.Invalidate(5);
        Assert.Equal(35, f.Invoke(5));
        Assert.Equal(KeyCount + 1, runs);

        f.Clear();
        await g.ClearAsync();
        Assert.Empty(Keys(connection, backend.Options.KeyPrefix));
        Assert.Equal(0, f.Invoke(0));
        Assert.Equal(KeyCount + 2, runs);
    }

    [RedisClusterFact]
    public async Task Clear_TwentyThousandKeysOnThreeShards_RemovesAllConcurrently()
    {
        using var connection = Cluster.Connect();
        using var backend = new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = Prefix(), OnError = RedisErrorMode.Throw });
        var f = Cachify.Wrap((int x) => x).Named("cl.clear").Backend(backend);
        var g = Cachify.Wrap((int x) => Task.FromResult(x)).Named("cl.clear").Backend(backend);
        var keys = Enumerable.Range(0, 20_000).Select(x => (RedisKey)ValueKey(f, x)).ToArray();

        foreach (var (clear, name) in new (Func<Task>, string)[] { (() => g.ClearAsync().AsTask(), "ClearAsync"), (() => Task.Run(f.Clear), "Clear") })
        {
            var db = connection.GetDatabase();
            await Task.WhenAll(keys.Select(key => db.StringSetAsync(key, "x", TimeSpan.FromMinutes(5))));
            Assert.Equal(20_000, Keys(connection, backend.Options.KeyPrefix).Count);

            var watch = Stopwatch.StartNew();
            await clear();
            output.WriteLine($"{name} of 20,000 keys on the cluster: {watch.ElapsedMilliseconds} ms");
            Assert.Empty(Keys(connection, backend.Options.KeyPrefix));
        }

        // For comparison, Clear's former way: one primary after another, one UNLINK (per hash slot) at a time.
        await Task.WhenAll(keys.Select(key => connection.GetDatabase().StringSetAsync(key, "x", TimeSpan.FromMinutes(5))));
        var serial = Stopwatch.StartNew();
        foreach (var server in connection.GetServers().Where(s => s.IsConnected && !s.IsReplica))
        {
            foreach (var slot in server.Keys(pattern: "{" + backend.Options.KeyPrefix + ":v:*", pageSize: 1000).ToList().GroupBy(connection.HashSlot))
            {
                server.Execute("UNLINK", slot.Select(key => (object)key).ToArray());
            }
        }

        output.WriteLine($"serial UNLINKs (Clear before this change) of 20,000 keys: {serial.ElapsedMilliseconds} ms");
        Assert.Empty(Keys(connection, backend.Options.KeyPrefix));
    }

    [RedisClusterFact]
    public async Task PrimaryKilledUnderLoad_SilentNeverFailsNorStalls_ThrowOnlyCachifyException_FailoverClearAndRestart()
    {
        using var connection = Cluster.Connect();
        var logs = new ListLoggerFactory();
        using var silent = new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = Prefix(), LoggerFactory = logs });
        using var throwing = new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = Prefix(), OnError = RedisErrorMode.Throw });
        var runs = 0;
        var f = Cachify.Wrap((int x) => { Interlocked.Increment(ref runs); return x * 7; }).Named("cl.kill").NoSelf().Backend(silent);
        var fa = Cachify.Wrap((int x) => { Interlocked.Increment(ref runs); return Task.FromResult(x * 7); }).Named("cl.kill").NoSelf().Backend(silent);
        var t = Cachify.Wrap((int x) => x * 7).Named("cl.kill").NoSelf().Backend(throwing);
        var ta = Cachify.Wrap((int x) => Task.FromResult(x * 7)).Named("cl.kill").NoSelf().Backend(throwing);
        for (var x = 0; x < KeyCount; x++)
        {
            f.Invoke(x);
            t.Invoke(x);
        }

        // Each backend's generation key (Clear rewrites it), found while every primary is up.
        var silentGeneration = Assert.Single(Keys(connection, silent.Options.KeyPrefix, "g"));
        var throwingGeneration = Assert.Single(Keys(connection, throwing.Options.KeyPrefix, "g"));

        // The victim: the primary of key 0's slot; its keys are the ones whose calls must not stall.
        var slot = connection.HashSlot(ValueKey(f, 0));
        var victim = Cluster.PrimaryOf(slot) ?? throw new InvalidOperationException("No primary owns the slot: " + Cluster.Describe());
        var victimEndPoint = connection.GetEndPoints().Single(e => e.ToString()!.EndsWith(":" + victim.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

        var load = new Load();
        var workers = new List<Task>();
        for (var w = 0; w < 2; w++)
        {
            var offset = w * 37;
            workers.Add(Task.Factory.StartNew(() => load.Run(offset, x => { Check(x, f.Invoke(x), load); return Task.CompletedTask; }, throws: false), TaskCreationOptions.LongRunning).Unwrap());
            workers.Add(Task.Run(() => load.Run(offset + 11, async x => Check(x, await fa.Invoke(x), load), throws: false)));
        }

        workers.Add(Task.Factory.StartNew(() => load.Run(5, x => { Check(x, t.Invoke(x), load); return Task.CompletedTask; }, throws: true), TaskCreationOptions.LongRunning).Unwrap());
        workers.Add(Task.Run(() => load.Run(17, async x => Check(x, await ta.Invoke(x), load), throws: true)));
        Bounded.Until(() => load.Calls > 2000 || load.Failed, "the load runs");

        var clock = Stopwatch.StartNew();
        victim.Kill();
        Assert.False(victim.IsRunning);
        Bounded.Until(() => !connection.GetServer(victimEndPoint).IsConnected, "the client saw the primary's connection drop");
        var seen = clock.Elapsed;

        // While the slot has no reachable owner: Invalidate of one of its keys fails loudly in both modes (never a
        // silent no-op). Clear writes the function's new generation first (nothing written before is served from then
        // on), then removes the old values on every primary it reaches: it fails loudly when the generation cannot be
        // written (its slot is the one down); else it succeeds, and the values on the dead shard are left to expire
        // (logged as a failed store call, never served: they belong to the old generation).
        Assert.Throws<CachifyException>(() => f.Invalidate(0));
        Assert.Contains(logs.Entries, e => e.EventId == 3003);
        foreach (var (clear, generation) in new (Func<Task>, string)[] { (() => fa.ClearAsync().AsTask(), silentGeneration), (() => Task.Run(t.Clear), throwingGeneration) })
        {
            if (Cluster.PrimaryOf(connection.HashSlot(generation)) == victim)
            {
                await Assert.ThrowsAsync<CachifyException>(clear);
            }
            else
            {
                var before = connection.GetDatabase().StringGet(generation);
                await clear();
                Assert.NotEqual(before, connection.GetDatabase().StringGet(generation)); // a new generation
            }
        }

        // The replica takes over (cluster-node-timeout 2 s), then calls for the slot go back to the cache.
        Bounded.Until(() => Cluster.PrimaryOf(slot) is { } owner && owner != victim, "the replica was promoted", TimeSpan.FromSeconds(30));
        var promoted = clock.Elapsed;
        Bounded.Until(() => Cached(f, 0, ref runs), "calls for the failed-over slot are served from the cache again", TimeSpan.FromSeconds(30));
        var backInCache = clock.Elapsed;
        Bounded.Until(() => Cached(t, 0), "the Throw backend serves the slot again", TimeSpan.FromSeconds(30));

        load.Stop();
        await Task.WhenAll(workers).WaitAsync(Bounded.Deadline);
        output.WriteLine($"killed primary {victimEndPoint}: client saw it after {seen.TotalMilliseconds:F0} ms, replica promoted after {promoted.TotalMilliseconds:F0} ms, slot served from cache again after {backInCache.TotalMilliseconds:F0} ms");
        output.WriteLine($"load: {load.Calls} calls, slowest Silent call {load.SlowestSilent.TotalMilliseconds:F0} ms, slowest Throw call {load.SlowestThrow.TotalMilliseconds:F0} ms, {load.CachifyErrors} CachifyExceptions in Throw mode");
        Assert.Empty(load.Errors);                      // Silent: no failed call, no wrong value; Throw: only CachifyException
        Assert.True(load.SlowestSilent < StallBound, $"a Silent call took {load.SlowestSilent}");
        Assert.True(load.SlowestThrow < StallBound, $"a Throw call took {load.SlowestThrow}");

        // Clear after the failover, the old primary still dead: it scans the primaries that own slots now.
        var watch = Stopwatch.StartNew();
        await fa.ClearAsync();
        t.Clear();
        output.WriteLine($"Clear after the failover: {watch.ElapsedMilliseconds} ms");
        Assert.Empty(Keys(connection, silent.Options.KeyPrefix));
        Assert.Empty(Keys(connection, throwing.Options.KeyPrefix));

        // The old primary comes back (as a replica of its replacement); the cache keeps working.
        victim.Start();
        Cluster.WaitHealthy();
        Bounded.Until(() => connection.GetServer(victimEndPoint).IsConnected, "the client reconnected to the restarted node");
        var restarted = clock.Elapsed;
        Assert.Equal(7, f.Invoke(1));
        Bounded.Until(() => Cached(f, 1, ref runs), "served from the cache after the restart");
        await fa.ClearAsync();
        Assert.Empty(Keys(connection, silent.Options.KeyPrefix));
        output.WriteLine($"old primary restarted and rejoined after {restarted.TotalMilliseconds:F0} ms");
    }

    [RedisClusterFact]
    public async Task RedisCacheStore_ValueAndLockOfAnyKey_ShareOneSlot_AndTheLockScriptsRunThere()
    {
        using var connection = Cluster.Connect();
        using var store = new RedisCacheStore(connection);
        var prefix = Prefix();
        string[] keys = [$"{prefix}:v:f:1", $"{prefix}:v:f:{{2}}", $"{prefix}:v:{{}}\"x\"", $"}}{prefix}", string.Empty, $"{prefix}}}{{a}}", $"{{{prefix}}}:v"];
        var slots = new HashSet<long>();
        foreach (var key in keys)
        {
            var value = RedisCacheStore.ValueKey(key);
            var lockKey = RedisCacheStore.LockKey(key);
            var slot = KeySlot(connection, value);
            Assert.Equal(slot, KeySlot(connection, lockKey));
            Assert.Equal(connection.HashSlot(value), (int)slot);
            slots.Add(slot);

            // The scripts touch both keys: on two slots Redis would refuse them (CROSSSLOT).
            Assert.True(store.Lock.TryAcquire(key, "owner", TimeSpan.FromMinutes(1)));
            Assert.True(await store.Lock.RenewAsync(key, "owner", TimeSpan.FromMinutes(1), CancellationToken.None));
            Assert.True(await store.Lock.CommitAsync(key, "owner", new byte[] { 1 }, TimeSpan.FromMinutes(1), CancellationToken.None));
            Assert.Equal(new byte[] { 1 }, store.Read(key));
            Assert.True(store.Lock.TryAcquire(key, "owner", TimeSpan.FromMinutes(1)));
            await store.RemoveAsync(key, CancellationToken.None);
            Assert.Null(await store.ReadAsync(key, CancellationToken.None));
            Assert.False(connection.GetDatabase().KeyExists(lockKey));
        }

        Assert.True(slots.Count > 1, "the keys spread over more than one slot");

        // RemoveByPrefix scans every primary and unlinks per slot: 600 keys of one prefix over the three shards.
        await Task.WhenAll(Enumerable.Range(0, 600).Select(i => store.WriteAsync($"{prefix}:v:g:{i}", new byte[] { 1 }, TimeSpan.FromMinutes(1), CancellationToken.None).AsTask()));
        await store.WriteAsync($"{prefix}:v:h:1", new byte[] { 1 }, TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(3, Enumerable.Range(0, 600).Select(i => connection.GetServer(RedisCacheStore.ValueKey($"{prefix}:v:g:{i}")).EndPoint).Distinct().Count());
        store.RemoveByPrefix($"{prefix}:v:g:");
        Assert.All(Enumerable.Range(0, 600), i => Assert.Null(store.Read($"{prefix}:v:g:{i}")));
        Assert.NotNull(store.Read($"{prefix}:v:h:1"));
        await store.RemoveByPrefixAsync($"{prefix}:v:", CancellationToken.None);
        Assert.Null(store.Read($"{prefix}:v:h:1"));
    }

    /// <summary>The slot Redis itself computes for <paramref name="key"/> (CLUSTER KEYSLOT, in a script: the multiplexer keeps CLUSTER for admin connections).</summary>
    private static long KeySlot(ConnectionMultiplexer connection, RedisKey key)
        => (long)connection.GetDatabase().ScriptEvaluate("return redis.call('CLUSTER', 'KEYSLOT', ARGV[1])", values: [(RedisValue)key.ToString()]);

    /// <summary>Whether a call for <paramref name="x"/> is a hit: a second call does not run the function.</summary>
    private static bool Cached(CachedFunc<int, int> f, int x, ref int runs)
    {
        f.Invoke(x);
        var before = Volatile.Read(ref runs);
        return f.Invoke(x) == x * 7 && Volatile.Read(ref runs) == before;
    }

    private static bool Cached(CachedFunc<int, int> t, int x)
    {
        try
        {
            return t.Invoke(x) == x * 7;
        }
        catch (CachifyException)
        {
            return false;
        }
    }

    private static void Check(int x, int value, Load load)
    {
        if (value != x * 7)
        {
            load.Error($"wrong value {value} for {x}");
        }
    }

    private static string ValueKey(CachedFunc<int, int> f, int x)
        => RedisCacheStore.ValueKey(((StoreKeyspace<ArgsKey<int>, int>)(f.EnsureBound() ?? throw new InvalidOperationException("not bound")).Keyspace).ValueKey(new ArgsKey<int>(x))).ToString();

    /// <summary>
    /// Every value key of <paramref name="prefix"/> on the connected primaries (<c>{prefix:v:...}</c>, not their locks
    /// <c>{prefix:v:...}:lock</c>: a Clear leaves locks to their lease, and a release that failed while a primary was
    /// down leaves one until it expires); with <paramref name="kind"/> "g", the functions' generation keys
    /// (<c>{prefix:g:...}</c>), which a Clear replaces.
    /// </summary>
    private static List<string> Keys(ConnectionMultiplexer connection, string prefix, string kind = "v")
    {
        var keys = new List<string>();
        foreach (var server in connection.GetServers().Where(s => s.IsConnected && !s.IsReplica))
        {
            keys.AddRange(server.Keys(pattern: "{" + prefix + ":" + kind + ":*", pageSize: 1000).Select(k => k.ToString()).Where(k => !k.EndsWith(":lock", StringComparison.Ordinal)));
        }

        return keys;
    }

    /// <summary>Calls over the keys until stopped, timing each; records anything but a right value (Silent) or a CachifyException (Throw).</summary>
    private sealed class Load
    {
        private readonly Lock _gate = new();
        private readonly List<string> _errors = [];
        private volatile bool _stop;
        private long _calls;
        private long _cachifyErrors;
        private long _slowestSilent;
        private long _slowestThrow;

        public long Calls => Interlocked.Read(ref _calls);

        public long CachifyErrors => Interlocked.Read(ref _cachifyErrors);

        public bool Failed
        {
            get
            {
                lock (_gate)
                {
                    return _errors.Count > 0;
                }
            }
        }

        public List<string> Errors
        {
            get
            {
                lock (_gate)
                {
                    return [.. _errors.Take(10)];
                }
            }
        }

        public TimeSpan SlowestSilent => TimeSpan.FromTicks(Interlocked.Read(ref _slowestSilent));

        public TimeSpan SlowestThrow => TimeSpan.FromTicks(Interlocked.Read(ref _slowestThrow));

        public void Stop() => _stop = true;

        public void Error(string what)
        {
            lock (_gate)
            {
                _errors.Add(what);
            }
        }

        public async Task Run(int start, Func<int, Task> call, bool throws)
        {
            for (var i = start; !_stop; i++)
            {
                var watch = Stopwatch.StartNew();
                try
                {
                    await call(i % KeyCount);
                }
                catch (CachifyException) when (throws)
                {
                    Interlocked.Increment(ref _cachifyErrors);
                }
                catch (Exception error)
                {
                    Error(error.ToString());
                }

                if (throws)
                {
                    Peak.Record(ref _slowestThrow, watch.Elapsed.Ticks);
                }
                else
                {
                    Peak.Record(ref _slowestSilent, watch.Elapsed.Ticks);
                }

                Interlocked.Increment(ref _calls);
            }
        }
    }
}
