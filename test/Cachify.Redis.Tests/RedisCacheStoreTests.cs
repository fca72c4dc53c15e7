using System.Diagnostics;
using CachifyNet.Conformance;
using CachifyNet.Stores;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// <see cref="RedisCacheStore"/>'s primitives and its lock on the suite's Redis (a private redis-server, a cluster or
/// Garnet, see <see cref="RedisRequirement"/>), each test under keys of its own. Each behaviour has one body that runs
/// through the synchronous members and through the asynchronous ones (<see cref="Forms"/>); the lock's renewal has an
/// asynchronous form only. Raw Redis commands check what the store wrote: the layout, PTTL, the lock's token.
/// </summary>
public sealed class RedisCacheStoreTests(RedisServerFixture fixture) : RedisTestBase(fixture)
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    private static readonly byte[] Bytes = [1, 2, 3, 0, 255];

    private RedisCacheStore Store => _store ??= Own(new RedisCacheStore(Fixture.Connection));

    private RedisCacheStore? _store;

    /// <summary>A key of the test's own, in the form the backend writes (identity and arguments may hold any character).</summary>
    private string Key(string name) => $"{Prefix}:v:{name}";

    [RedisTheory, SyncAndAsync]
    public async Task Write_ThenRead_ReturnsTheBytes_StoredAtTheBracedKeyWithPx(bool async)
    {
        var io = new Forms(Store, async);
        var key = Key("f:\"{1}\"");
        Assert.Null(await io.Read(key));

        var watch = Stopwatch.StartNew();
        await io.Write(key, Bytes, TimeSpan.FromSeconds(90));

        Assert.Equal(Bytes, await io.Read(key));
        Assert.Equal(Bytes, (byte[]?)Db.StringGet("{" + key + "}"));
        AssertExpiresIn("{" + key + "}", TimeSpan.FromSeconds(90), watch);

        // A new write replaces the bytes and the expiry; an infinite TTL sets none.
        await io.Write(key, new byte[] { 9 }, Timeout.InfiniteTimeSpan);
        Assert.Equal(new byte[] { 9 }, await io.Read(key));
        Assert.Equal(-1, (long)Db.Execute("PTTL", "{" + key + "}"));
    }

    [RedisTheory, SyncAndAsync]
    public async Task Write_EmptyValue_ReadsEmpty_NotNull(bool async)
    {
        var io = new Forms(Store, async);
        var key = Key("empty");
        await io.Write(key, ReadOnlyMemory<byte>.Empty, Minute);
        Assert.Equal(Array.Empty<byte>(), await io.Read(key));
    }

    [Fact]
    public void Expiry_RoundsUpToWholeMilliseconds_AtLeastOne_NoneWhenInfinite()
    {
        Assert.Null(RedisCacheStore.Expiry(Timeout.InfiniteTimeSpan));
        Assert.Equal(TimeSpan.FromMilliseconds(1), RedisCacheStore.Expiry(TimeSpan.FromTicks(1)));
        Assert.Equal(TimeSpan.FromMilliseconds(2), RedisCacheStore.Expiry(TimeSpan.FromTicks(TimeSpan.TicksPerMillisecond + 1)));
        Assert.Equal(TimeSpan.FromSeconds(5), RedisCacheStore.Expiry(TimeSpan.FromSeconds(5)));
        Assert.Equal(60_000, RedisCacheStore.Milliseconds(TimeSpan.FromMilliseconds(59_999.5), "lease"));
    }

    [RedisTheory, SyncAndAsync]
    public async Task Read_KeyHoldingAnotherRedisType_ReturnsBytesThatAreNoEntry_NotAFailure(bool async)
    {
        var io = new Forms(Store, async);
        var key = Key("wrongtype");
        Db.ListLeftPush("{" + key + "}", "someone else's list");

        var read = await io.Read(key);

        Assert.NotNull(read);
        Assert.Empty(read);

        // The backend overwrites it with a write.
        await io.Write(key, Bytes, Minute);
        Assert.Equal(Bytes, await io.Read(key));
    }

    [RedisTheory, SyncAndAsync]
    public async Task Keys_AnyCharacters_RoundTripApart_EvenThoseWithoutAHashTag(bool async)
    {
        var io = new Forms(Store, async);
        string[] keys = ["", "}", "}x", "{", "{}", "a{b}c", "a}b{c", "q\"'{\\}\n é", Prefix + ":x", Prefix + ":x}", "@{@}" + Prefix];
        for (var i = 0; i < keys.Length; i++)
        {
            await io.Write(keys[i], new[] { (byte)i }, Minute);
        }

        for (var i = 0; i < keys.Length; i++)
        {
            Assert.Equal(new byte[] { (byte)i }, await io.Read(keys[i]));
            Assert.True(await io.TryAcquire(keys[i], "me", Minute));
            Assert.True(await io.Commit(keys[i], "me", new[] { (byte)(i + 100) }, Minute));
            Assert.Equal(new byte[] { (byte)(i + 100) }, await io.Read(keys[i]));
            await io.Remove(keys[i]);
            Assert.Null(await io.Read(keys[i]));
        }

        // An empty hash tag would hash the whole key (value and lock apart): those keys go under the fixed tag "@".
        Assert.Equal("@{@}}x}", RedisCacheStore.ValueKey("}x").ToString());
        Assert.Equal("@{@}}x}:lock", RedisCacheStore.LockKey("}x").ToString());
        Assert.Equal("@{@}}", RedisCacheStore.ValueKey(string.Empty).ToString());
        Assert.Equal("{a}b}", RedisCacheStore.ValueKey("a}b").ToString());
        Assert.Equal("{a}b}:lock", RedisCacheStore.LockKey("a}b").ToString());
    }

    [RedisTheory, SyncAndAsync]
    public async Task Remove_DropsTheValueAndTheLock_WhoeverHoldsIt(bool async)
    {
        var io = new Forms(Store, async);
        var key = Key("remove");
        await io.Write(key, Bytes, Minute);
        Assert.True(await io.TryAcquire(key, "another process", Minute));
        Assert.True(Db.KeyExists("{" + key + "}:lock"));

        await io.Remove(key);

        Assert.Null(await io.Read(key));
        Assert.False(Db.KeyExists("{" + key + "}"));
        Assert.False(Db.KeyExists("{" + key + "}:lock"));
        Assert.True(await io.TryAcquire(key, "me", Minute));

        // Removing what is not there is no failure.
        await io.Remove(Key("never written"));
    }

    [RedisTheory, SyncAndAsync]
    public async Task RemoveByPrefix_RemovesTheValuesOfMatchingKeysOnly_InBatches_LeavesLocks(bool async)
    {
        var io = new Forms(Store, async);
        var db = Fixture.Connection.GetDatabase();

        // More than one SCAN page and UNLINK batch (1,000), written pipelined.
        await Task.WhenAll(Enumerable.Range(0, 2500).Select(i => Store.WriteAsync(Key("f:" + i), Bytes, Minute, CancellationToken.None).AsTask()));
        await io.Write(Key("g:1"), Bytes, Minute);
        await io.Write(Key("f*[x]?\\:1"), Bytes, Minute); // glob characters in the prefix are literal
        await io.Write(Key("fa:1"), Bytes, Minute);
        await io.Write(Key("fZxQ:1"), Bytes, Minute); // what the prefix's pattern would match, were its glob characters not escaped
        Assert.True(await io.TryAcquire(Key("f:7"), "owner", Minute));

        await io.RemoveByPrefix(Key("f:"));

        Assert.Null(await io.Read(Key("f:0")));
        Assert.Null(await io.Read(Key("f:2499")));
        Assert.Equal(0, (await Task.WhenAll(Enumerable.Range(0, 2500).Select(i => db.KeyExistsAsync("{" + Key("f:" + i) + "}")))).Count(exists => exists));
        Assert.Equal(Bytes, await io.Read(Key("g:1")));
        Assert.Equal(Bytes, await io.Read(Key("fa:1")));
        Assert.Equal("owner", (string?)db.StringGet("{" + Key("f:7") + "}:lock")); // a lock expires with its lease

        await io.RemoveByPrefix(Key("f*[x]?\\:"));
        Assert.Null(await io.Read(Key("f*[x]?\\:1")));
        Assert.Equal(Bytes, await io.Read(Key("fZxQ:1")));

        await io.RemoveByPrefix(Key("nothing:")); // nothing to remove is no failure
        Assert.Equal("redis", Store.Kind);
    }

    [RedisTheory, SyncAndAsync]
    public async Task TryAcquire_Twice_SecondFails_LockHoldsTheFirstOwnerWithTheLease(bool async)
    {
        var io = new Forms(Store, async);
        var key = Key("acquire");
        var watch = Stopwatch.StartNew();

        Assert.True(await io.TryAcquire(key, "first", TimeSpan.FromSeconds(40)));
        Assert.False(await io.TryAcquire(key, "second", Minute));
        Assert.False(await io.TryAcquire(key, "first", Minute)); // not re-entrant: a new attempt has a new token

        Assert.Equal("first", (string?)Db.StringGet("{" + key + "}:lock"));
        AssertExpiresIn("{" + key + "}:lock", TimeSpan.FromSeconds(40), watch);
        Assert.Null(await io.Read(key)); // the lock is no value
    }

    [RedisTheory, SyncAndAsync]
    public async Task TryAcquire_AfterTheLeaseLapsed_Succeeds(bool async)
    {
        var io = new Forms(Store, async);
        var key = Key("lapsed");
        Assert.True(await io.TryAcquire(key, "dead process", Minute));

        Db.KeyDelete("{" + key + "}:lock"); // as Redis expires it at the end of the lease

        Assert.True(await io.TryAcquire(key, "taker", Minute));
        Assert.Equal("taker", (string?)Db.StringGet("{" + key + "}:lock"));
    }

    [RedisFact]
    public async Task RenewAsync_ByTheOwner_ExtendsTheLease_ByAnotherOrAfterRemove_Fails()
    {
        var key = Key("renew");
        var lockKey = "{" + key + "}:lock";
        Assert.True(Store.Lock.TryAcquire(key, "owner", TimeSpan.FromSeconds(10)));

        var watch = Stopwatch.StartNew();
        Assert.True(await Store.Lock.RenewAsync(key, "owner", TimeSpan.FromSeconds(50), CancellationToken.None));
        AssertExpiresIn(lockKey, TimeSpan.FromSeconds(50), watch);

        Assert.False(await Store.Lock.RenewAsync(key, "intruder", TimeSpan.FromMinutes(5), CancellationToken.None));
        Assert.InRange((long)Db.Execute("PTTL", lockKey), 1, 50_000);
        Assert.Equal("owner", (string?)Db.StringGet(lockKey));

        Store.Remove(key);
        Assert.False(await Store.Lock.RenewAsync(key, "owner", Minute, CancellationToken.None));
        Assert.False(Db.KeyExists(lockKey)); // a renewal never brings a removed lock back
    }

    [RedisTheory, SyncAndAsync]
    public async Task Commit_ByTheOwner_StoresWithPx_AndReleasesTheLock(bool async)
    {
        var io = new Forms(Store, async);
        var key = Key("commit");
        Assert.True(await io.TryAcquire(key, "owner", Minute));

        var watch = Stopwatch.StartNew();
        Assert.True(await io.Commit(key, "owner", Bytes, TimeSpan.FromSeconds(70)));

        Assert.Equal(Bytes, await io.Read(key));
        AssertExpiresIn("{" + key + "}", TimeSpan.FromSeconds(70), watch);
        Assert.False(Db.KeyExists("{" + key + "}:lock"));
        Assert.True(await io.TryAcquire(key, "next", Minute)); // released

        // An infinite TTL stores without expiry; the commit replaces the value.
        Assert.True(await io.Commit(key, "next", new byte[] { 7 }, Timeout.InfiniteTimeSpan));
        Assert.Equal(new byte[] { 7 }, await io.Read(key));
        Assert.Equal(-1, (long)Db.Execute("PTTL", "{" + key + "}"));
        Assert.False(await io.Commit(key, "next", Bytes, Minute)); // committed once: the lock is gone
        Assert.Equal(new byte[] { 7 }, await io.Read(key));
    }

    [RedisTheory, SyncAndAsync]
    public async Task Commit_ByAnotherOwner_StoresNothing_AndKeepsTheLock(bool async)
    {
        var io = new Forms(Store, async);
        var key = Key("commit.intruder");
        await io.Write(key, new byte[] { 5 }, Minute);
        Assert.True(await io.TryAcquire(key, "owner", Minute));

        Assert.False(await io.Commit(key, "intruder", Bytes, Minute));

        Assert.Equal(new byte[] { 5 }, await io.Read(key));
        Assert.Equal("owner", (string?)Db.StringGet("{" + key + "}:lock"));

        // Nobody holds the lock: a commit stores nothing either.
        var free = Key("commit.free");
        Assert.False(await io.Commit(free, "owner", Bytes, Minute));
        Assert.Null(await io.Read(free));
    }

    [RedisTheory, SyncAndAsync]
    public async Task Commit_AfterRemove_StoresNothing(bool async)
    {
        var io = new Forms(Store, async);
        var key = Key("commit.removed");
        Assert.True(await io.TryAcquire(key, "owner", Minute));

        await io.Remove(key); // Invalidate while the owner runs the function

        Assert.False(await io.Commit(key, "owner", Bytes, Minute));
        Assert.Null(await io.Read(key));
        Assert.False(Db.KeyExists("{" + key + "}:lock"));
    }

    [RedisTheory, SyncAndAsync]
    public async Task Release_ByAnotherOwner_KeepsTheLock_ByTheOwner_FreesIt(bool async)
    {
        var io = new Forms(Store, async);
        var key = Key("release");
        await io.Write(key, Bytes, Minute);
        Assert.True(await io.TryAcquire(key, "owner", Minute));

        await io.Release(key, "intruder");
        Assert.Equal("owner", (string?)Db.StringGet("{" + key + "}:lock"));

        await io.Release(key, "owner");
        Assert.False(Db.KeyExists("{" + key + "}:lock"));
        Assert.Equal(Bytes, await io.Read(key)); // the value is untouched
        Assert.True(await io.TryAcquire(key, "next", Minute));

        await io.Release(Key("never locked"), "owner"); // no failure
    }

    [RedisFact]
    public async Task AsyncMembers_CancelledToken_ThrowOperationCanceled_AndChangeNothing()
    {
        var key = Key("cancelled");
        var cancelled = new CancellationToken(canceled: true);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.ReadAsync(key, cancelled).AsTask());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.WriteAsync(key, Bytes, Minute, cancelled).AsTask());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Store.Lock.TryAcquireAsync(key, "owner", Minute, cancelled).AsTask());
        Assert.False(Db.KeyExists("{" + key + "}"));
        Assert.False(Db.KeyExists("{" + key + "}:lock"));

        // A token that can be cancelled but is not: the calls go through.
        using var live = new CancellationTokenSource();
        await Store.WriteAsync(key, Bytes, Minute, live.Token);
        Assert.Equal(Bytes, await Store.ReadAsync(key, live.Token));
        Assert.True(await Store.Lock.TryAcquireAsync(key, "owner", Minute, live.Token));
        Assert.True(await Store.Lock.CommitAsync(key, "owner", new byte[] { 4 }, Minute, live.Token));
        Assert.Equal(new byte[] { 4 }, await Store.ReadAsync(key, live.Token));
        await Store.RemoveAsync(key, live.Token);
        Assert.Null(await Store.ReadAsync(key, live.Token));
    }

    [RedisFact]
    public void Constructor_NullConnection_Throws_InvalidDatabase_Throws()
    {
        Assert.Equal("connection", Assert.Throws<ArgumentNullException>(() => new RedisCacheStore(null!)).ParamName);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new RedisCacheStore(Fixture.Connection, -2));
        Assert.Equal("database", error.ParamName);
        Assert.Contains("-1", error.Message, StringComparison.Ordinal);
    }

    [RedisFact]
    public void Members_InvalidArguments_ThrowNamingTheArgument()
    {
        var store = Store;
        var lease = Minute;
        Assert.Equal("key", Assert.Throws<ArgumentNullException>(() => store.Read(null!)).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentNullException>(() => store.ReadAsync(null!, default)).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentNullException>(() => store.Write(null!, Bytes, lease)).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentNullException>(() => store.WriteAsync(null!, Bytes, lease, default)).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentNullException>(() => store.Remove(null!)).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentNullException>(() => store.RemoveAsync(null!, default)).ParamName);

        foreach (var ttl in new[] { TimeSpan.Zero, TimeSpan.FromTicks(-1), TimeSpan.FromSeconds(-5) })
        {
            Assert.Equal("timeToLive", Assert.Throws<ArgumentOutOfRangeException>(() => store.Write("k", Bytes, ttl)).ParamName);
            Assert.Equal("timeToLive", Assert.Throws<ArgumentOutOfRangeException>(() => store.WriteAsync("k", Bytes, ttl, default)).ParamName);
            Assert.Equal("timeToLive", Assert.Throws<ArgumentOutOfRangeException>(() => store.Lock.Commit("k", "o", Bytes, ttl)).ParamName);
            Assert.Equal("timeToLive", Assert.Throws<ArgumentOutOfRangeException>(() => store.Lock.CommitAsync("k", "o", Bytes, ttl, default)).ParamName);
        }

        foreach (var bad in new[] { TimeSpan.Zero, TimeSpan.FromSeconds(-1), Timeout.InfiniteTimeSpan })
        {
            Assert.Equal("lease", Assert.Throws<ArgumentOutOfRangeException>(() => store.Lock.TryAcquire("k", "o", bad)).ParamName);
            Assert.Equal("lease", Assert.Throws<ArgumentOutOfRangeException>(() => store.Lock.TryAcquireAsync("k", "o", bad, default)).ParamName);
            Assert.Equal("lease", Assert.Throws<ArgumentOutOfRangeException>(() => store.Lock.RenewAsync("k", "o", bad, default)).ParamName);
        }

        Assert.Equal("owner", Assert.Throws<ArgumentNullException>(() => store.Lock.TryAcquire("k", null!, lease)).ParamName);
        Assert.Equal("owner", Assert.Throws<ArgumentException>(() => store.Lock.TryAcquireAsync("k", string.Empty, lease, default)).ParamName);
        Assert.Equal("owner", Assert.Throws<ArgumentNullException>(() => store.Lock.RenewAsync("k", null!, lease, default)).ParamName);
        Assert.Equal("owner", Assert.Throws<ArgumentException>(() => store.Lock.Commit("k", string.Empty, Bytes, lease)).ParamName);
        Assert.Equal("owner", Assert.Throws<ArgumentNullException>(() => store.Lock.CommitAsync("k", null!, Bytes, lease, default)).ParamName);
        Assert.Equal("owner", Assert.Throws<ArgumentNullException>(() => store.Lock.Release("k", null!)).ParamName);
        Assert.Equal("owner", Assert.Throws<ArgumentException>(() => store.Lock.ReleaseAsync("k", string.Empty, default)).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentNullException>(() => store.Lock.TryAcquire(null!, "o", lease)).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentNullException>(() => store.Lock.CommitAsync(null!, "o", Bytes, lease, default)).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentNullException>(() => store.Lock.Release(null!, "o")).ParamName);
    }

    [RedisFact]
    public async Task Dispose_ThenAnyMember_ThrowsObjectDisposed_TwiceIsNoFailure()
    {
        var store = new RedisCacheStore(Fixture.Connection);
        store.Write(Key("disposed"), Bytes, Minute);
        store.Dispose();
        store.Dispose();

        Assert.Throws<ObjectDisposedException>(() => store.Read(Key("disposed")));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.ReadAsync(Key("disposed"), default).AsTask());
        Assert.Throws<ObjectDisposedException>(() => store.Lock.TryAcquire(Key("disposed"), "o", Minute));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.Lock.CommitAsync(Key("disposed"), "o", Bytes, Minute, default).AsTask());
        Assert.True(Fixture.Connection.IsConnected); // the connection is the application's
    }

    [RedisTheory, SyncAndAsync]
    public async Task RedisDown_EveryMemberFailsAtOnce_WithoutWaitingForTheClientTimeout(bool async)
    {
        using var server = new RestartableRedis();
        using var connection = server.Connect();
        using var store = new RedisCacheStore(connection);
        var io = new Forms(store, async);
        await io.Write("k", Bytes, Minute);
        server.Kill();
        Bounded.Until(() => !connection.IsConnected, "the client saw the connection drop");

        // The client's timeout is 2 s (RedisServer.Connect); a call waiting in the backlog would take that long.
        var watch = Stopwatch.StartNew();
        await Assert.ThrowsAsync<RedisConnectionException>(() => io.Read("k"));
        await Assert.ThrowsAsync<RedisConnectionException>(() => io.Write("k", Bytes, Minute));
        await Assert.ThrowsAsync<RedisConnectionException>(() => io.Remove("k"));
        await Assert.ThrowsAsync<RedisConnectionException>(() => io.RemoveByPrefix("k"));
        await Assert.ThrowsAsync<RedisConnectionException>(() => io.TryAcquire("k", "o", Minute));
        await Assert.ThrowsAsync<RedisConnectionException>(() => io.Commit("k", "o", Bytes, Minute));
        await Assert.ThrowsAsync<RedisConnectionException>(() => io.Release("k", "o"));
        await Assert.ThrowsAsync<RedisConnectionException>(() => store.Lock.RenewAsync("k", "o", Minute, default).AsTask());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"8 calls while Redis was down took {watch.Elapsed}");

        server.Start();
        Bounded.Until(() => connection.IsConnected, "the multiplexer reconnected");
        Assert.Null(await io.Read("k")); // the server came back empty
        await io.Write("k", Bytes, Minute);
        Assert.Equal(Bytes, await io.Read("k"));
    }

    private T Own<T>(T owned)
        where T : IDisposable
    {
        Owned(owned);
        return owned;
    }

    /// <summary>The store's members in one form: synchronous (<c>async</c> false) or asynchronous, each with a token that can be cancelled.</summary>
    private sealed class Forms(RedisCacheStore store, bool async)
    {
        private readonly CancellationTokenSource _cancel = new();

        private CacheStoreLock Lock => store.Lock;

        public async Task<byte[]?> Read(string key) => async ? await store.ReadAsync(key, _cancel.Token) : store.Read(key);

        public async Task Write(string key, ReadOnlyMemory<byte> value, TimeSpan ttl)
        {
            if (async)
            {
                await store.WriteAsync(key, value, ttl, _cancel.Token);
            }
            else
            {
                store.Write(key, value, ttl);
            }
        }

        public async Task Remove(string key)
        {
            if (async)
            {
                await store.RemoveAsync(key, _cancel.Token);
            }
            else
            {
                store.Remove(key);
            }
        }

        public async Task RemoveByPrefix(string keyPrefix)
        {
            if (async)
            {
                await store.RemoveByPrefixAsync(keyPrefix, _cancel.Token);
            }
            else
            {
                store.RemoveByPrefix(keyPrefix);
            }
        }

        public async Task<bool> TryAcquire(string key, string owner, TimeSpan lease)
            => async ? await Lock.TryAcquireAsync(key, owner, lease, _cancel.Token) : Lock.TryAcquire(key, owner, lease);

        public async Task<bool> Commit(string key, string owner, ReadOnlyMemory<byte> value, TimeSpan ttl)
            => async ? await Lock.CommitAsync(key, owner, value, ttl, _cancel.Token) : Lock.Commit(key, owner, value, ttl);

        public async Task Release(string key, string owner)
        {
            if (async)
            {
                await Lock.ReleaseAsync(key, owner, _cancel.Token);
            }
            else
            {
                Lock.Release(key, owner);
            }
        }
    }
}
