using CachifyNet.Internal.Stores;
using System.Buffers;
using System.Diagnostics;
using System.Text;
using CachifyNet.Redis.Internal;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests;

/// <summary>Keys, TTL, null, exceptions, skip-cache, invalidate, clear and payloads against a real redis-server.</summary>
public class RedisCacheBackendTests(RedisServerFixture fixture) : RedisTestBase(fixture)
{
    [RedisFact]
    public void Invoke_SameArguments_RunsOnceAndStoresUnderReadableKey()
    {
        var calls = 0;
        var f = Cachify.Wrap((int id) => { Interlocked.Increment(ref calls); return "user-" + id; }).Named("users.get").NoSelf().Backend(Backend);

        Assert.Equal("user-42", f.Invoke(42));
        Assert.Equal("user-42", f.Invoke(42));
        Assert.Equal("user-7", f.Invoke(7));

        Assert.Equal(2, calls);
        Assert.Equal([GenerationKeyText("users.get"), ValueKeyText("users.get:42"), ValueKeyText("users.get:7")], Keys());
    }

    [RedisFact]
    public void Invoke_ArityZeroAndEight_KeysListEveryArgument()
    {
        var f0 = Cachify.Wrap(() => 1).Named("zero").NoSelf().Backend(Backend);
        var f8 = Cachify.Wrap((int a, int b, int c, int d, int e, int f, int g, int h) => a + h).Named("eight").NoSelf().Backend(Backend);

        Assert.Equal(1, f0.Invoke());
        Assert.Equal(9, f8.Invoke(1, 2, 3, 4, 5, 6, 7, 8));
        Assert.Equal([ValueKeyText("eight:1,2,3,4,5,6,7,8"), ValueKeyText("zero:")], ValueKeys());
    }

    [Trait("Category", "Reliability")]
    [RedisFact]
    public void Key_LongArguments_AreHashed_ShortOnesStayReadable()
    {
        var f = Cachify.Wrap((string text) => text.Length).Named("len").NoSelf().Backend(Backend);
        var a = new string('a', 500);
        var b = new string('a', 499) + "b";

        Assert.Equal(500, f.Invoke(a));
        Assert.Equal(500, f.Invoke(b));
        Assert.Equal(3, f.Invoke("abc"));

        var keys = ValueKeys();
        Assert.Equal(3, keys.Count);
        Assert.Contains(ValueKeyText("len:abc"), keys);
        var hashed = keys.Where(k => k.Contains("#", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, hashed.Count);
        Assert.All(hashed, k => Assert.Matches(@"^\{[^:]+:v:len:#[0-9A-F]{64}\}$", k));
    }

    [Trait("Category", "Reliability")]
    [RedisFact]
    public void Key_SeparatorsNullAndEmpty_NeverCollide()
    {
        var f = Cachify.Wrap((string? a, string? b) => (a ?? "null") + "|" + (b ?? "null")).Named("pair").NoSelf().Backend(Backend);

        Assert.Equal("a:b|c", f.Invoke("a:b", "c"));
        Assert.Equal("a|b:c", f.Invoke("a", "b:c"));
        Assert.Equal("a,b|c", f.Invoke("a,b", "c"));
        Assert.Equal("a|b,c", f.Invoke("a", "b,c"));
        Assert.Equal("null|", f.Invoke(null, string.Empty));
        Assert.Equal("|null", f.Invoke(string.Empty, null));
        Assert.Equal("{x}|}", f.Invoke("{x}", "}"));
        Assert.Equal(7, ValueKeys().Count);
    }

    [RedisFact]
    public void Key_IntAndLongOverloadsOfOneMethod_NeverCollide()
    {
        // One declaring type, one method name, one argument text ("1"): only the parameter type in the key's
        // identity tells the two entries apart.
        var calls = new Overloads();
        var ints = Cachify.Wrap<int, string>(calls.Kind).NoSelf().Backend(Backend);
        var longs = Cachify.Wrap<long, string>(calls.Kind).NoSelf().Backend(Backend);

        Assert.Equal("int 1", ints.Invoke(1));
        Assert.Equal("long 1", longs.Invoke(1L));
        Assert.Equal("int 1", ints.Invoke(1));
        Assert.Equal("long 1", longs.Invoke(1L));
        Assert.Equal(2, calls.Count); // one execution per overload, each then a hit

        var keys = ValueKeys();
        Assert.Equal(2, keys.Count);
        Assert.Single(keys, k => k.Contains(".Kind(System.Int32)->System.String:1}", StringComparison.Ordinal));
        Assert.Single(keys, k => k.Contains(".Kind(System.Int64)->System.String:1}", StringComparison.Ordinal));
        Assert.Equal(4, Keys().Count); // and a generation each: clearing one overload never clears the other
    }

    [RedisFact]
    public void Key_UnnamedLambda_IdentityCarriesSignatureAndModuleVersionId()
    {
        var a = Cachify.Wrap((int x) => x + 1).Backend(Backend);
        var b = Cachify.Wrap((int x) => x + 2).Backend(Backend);

        Assert.Equal(2, a.Invoke(1));
        Assert.Equal(3, b.Invoke(1));

        var mvid = typeof(RedisCacheBackendTests).Module.ModuleVersionId.ToString("N");
        var keys = ValueKeys();
        Assert.Equal(2, keys.Count);
        Assert.All(keys, k => Assert.Contains("(System.Int32)->System.Int32@" + mvid + ":1}", k, StringComparison.Ordinal));
    }

    [Trait("Category", "Reliability")]
    [RedisFact]
    public void Backend_ParameterWithoutStableText_ThrowsNamingItAndTheFix()
    {
        var f = Cachify.Wrap((int id, object context) => id).Named("ctx");

        var error = Assert.Throws<ArgumentException>(() => f.Backend(Backend).BindNow());
        Assert.Contains("'context'", error.Message, StringComparison.Ordinal);
        Assert.Contains(".IgnoreArgs(\"context\")", error.Message, StringComparison.Ordinal);
        Assert.Contains("in any order with .Backend(...)", error.Message, StringComparison.Ordinal);

        Assert.Equal(1, f.IgnoreArgs("context").Backend(Backend).Invoke(1, new object()));
        Assert.Equal(2, f.KeyBy((id, _) => "k" + id).Backend(Backend).Invoke(2, new object()));

        // The settings are checked on the final configuration: a fix after .Backend(...) counts as well.
        Assert.Equal(3, f.Backend(Backend).IgnoreArgs("context").Invoke(3, new object()));
        Assert.Equal(4, f.Backend(Backend).KeyBy((id, _) => "k" + id).Invoke(4, new object()));
    }

    [Trait("Category", "Reliability")]
    [RedisFact]
    public void Backend_FunctionWithTarget_NeedsNamedNoSelfOrKeyBy()
    {
        var factor = 3;
        var closure = Cachify.Wrap((int x) => x * factor + Zero()); // uses this test object: an instance
        var error = Assert.Throws<ArgumentException>(() => closure.Backend(Backend).BindNow());
        Assert.Contains(".NoSelf()", error.Message, StringComparison.Ordinal);
        Assert.Contains(".NoSelf()", error.Message, StringComparison.Ordinal);
        Assert.Contains(".KeyBy(", error.Message, StringComparison.Ordinal);
        Assert.Equal("backend", error.ParamName);

        Assert.Equal(6, closure.Named("times").NoSelf().Backend(Backend).Invoke(2));
        var repo = new Repo("r");
        Assert.Throws<ArgumentException>(() => Cachify.Wrap<int, string>(repo.Get).Backend(Backend).BindNow());
        Assert.Equal("r:1", Cachify.Wrap<int, string>(repo.Get).NoSelf().Backend(Backend).Invoke(1));
    }

    [RedisFact]
    public void KeyBy_StringIsTheArgumentPart()
    {
        var calls = 0;
        var f = Cachify.Wrap((Person p) => { calls++; return p.Name; }).Named("people").KeyBy(p => "id=" + p.Id).Backend(Backend);

        Assert.Equal("Ann", f.Invoke(new Person(1, "Ann")));
        Assert.Equal("Ann", f.Invoke(new Person(1, "Renamed")));
        Assert.Equal(1, calls);
        Assert.Single(ValueKeys(), k => k.StartsWith(ValueKeyText("people~key(")[..^1], StringComparison.Ordinal) && k.EndsWith(":id=1}", StringComparison.Ordinal));
    }

    [RedisFact]
    public void Record_Arguments_AreKeyedByTheirJson()
    {
        var calls = 0;
        var f = Cachify.Wrap((Person p) => { calls++; return p.Name.Length; }).Named("json").NoSelf().Backend(Backend);

        f.Invoke(new Person(1, "Ann"));
        f.Invoke(new Person(1, "Ann"));
        f.Invoke(new Person(1, "Bob"));
        Assert.Equal(2, calls);
    }

    [RedisFact]
    public void Ttl_IsSetByRedis()
    {
        var ttl = Cachify.Wrap((int x) => x).Named("ttl").NoSelf().Ttl(TimeSpan.FromSeconds(30)).Backend(Backend);
        var forever = Cachify.Wrap((int x) => x).Named("forever").NoSelf().Ttl(Timeout.InfiniteTimeSpan).Backend(Backend);

        var written = Stopwatch.StartNew();
        ttl.Invoke(1);
        forever.Invoke(1);

        AssertExpiresIn(ValueKey(ttl, 1), TimeSpan.FromSeconds(30), written);
        Assert.Equal(-1L, (long)Db.Execute("PTTL", ValueKey(forever, 1)));
    }

    [RedisFact]
    public async Task NeverDie_AndPlainWrappersOfOneName_UseDifferentKeys()
    {
        var calls = 0;
        var neverDie = Cachify.Wrap((int x) => Task.FromResult(Interlocked.Increment(ref calls))).Named("nd").NoSelf().Ttl(TimeSpan.FromMinutes(1)).NeverDie().Backend(Backend);
        var plain = Cachify.Wrap((int x) => Task.FromResult(Interlocked.Increment(ref calls))).Named("nd").NoSelf().Ttl(TimeSpan.FromMilliseconds(300)).Backend(NewBackend());

        Assert.Equal(1, await neverDie.Invoke(1));
        Assert.Equal(2, await plain.Invoke(1));                       // its own key: it never replaces the never-die value
        Assert.Equal(1, await neverDie.Invoke(1));
        Assert.Equal(ValueKeyText("nd~neverdie:1"), ValueKey(neverDie, 1));
        Assert.Equal(ValueKeyText("nd:1"), ValueKey(plain, 1));
        Assert.InRange((long)Db.Execute("PTTL", ValueKey(neverDie, 1)), 60_000, 11 * 60_000); // 11 x TTL, untouched by the plain wrapper
    }

    [RedisFact]
    public async Task Invoke_Throws_EveryWaiterGetsTheExceptionNothingCachedLockReleased()
    {
        var calls = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var f = Cachify.Wrap(async (int x) =>
        {
            var n = Interlocked.Increment(ref calls);
            await release.Task;
            return n == 1 ? throw new TimeoutException("dependency down") : n;
        }).Named("throws").NoSelf().Backend(Backend);

        using var joins = new CachifyNet.Conformance.StampedeJoins("throws");
        var tasks = Enumerable.Range(0, 50).Select(_ => Task.Run(() => f.Invoke(1))).ToArray();
        Bounded.Until(() => Volatile.Read(ref calls) == 1 && Db.KeyExists(LockKey(ValueKey(f, 1))), "the execution holds the lock");
        Bounded.Until(() => joins.Count == tasks.Length - 1, "every other caller joined the execution"); // a late one would run anew
        release.SetResult();

        foreach (var task in tasks)
        {
            Assert.Equal("dependency down", (await Assert.ThrowsAsync<TimeoutException>(() => task.Within("the waiter got the exception"))).Message);
        }

        Assert.Equal(1, calls);
        Assert.Equal([GenerationKeyText("throws")], Keys()); // no value, no lock left behind: only the generation the owner wrote before it ran
        Assert.Equal(2, await f.Invoke(1));
    }

    [RedisFact]
    public async Task Clear_RemovesEveryValueOfTheFunctionOnly_SyncAndAsync()
    {
        var f = Cachify.Wrap((int x) => x).Named("clear.me").NoSelf().Backend(Backend);
        var other = Cachify.Wrap((int x) => -x).Named("clear.me.not").NoSelf().Backend(Backend);
        var g = Cachify.Wrap((int x) => Task.FromResult(x)).Named("clear.async").NoSelf().Backend(Backend);
        for (var i = 0; i < 30; i++)
        {
            f.Invoke(i);
            await g.Invoke(i);
        }

        other.Invoke(1);
        var staleLock = LockKey(ValueKeyText("clear.me:99"));
        Db.StringSet(staleLock, "a lock of a process that died", TimeSpan.FromMinutes(1));
        var generation = (byte[])Db.StringGet(GenerationKeyText("clear.me"))!;
        Assert.Equal(65, Keys().Count); // 61 values, 3 generations and the lock

        f.Clear();
        Assert.NotEqual(generation, (byte[])Db.StringGet(GenerationKeyText("clear.me"))!); // a new generation: nothing older is served
        Assert.DoesNotContain(ValueKeys(), k => k.StartsWith(ValueKeyText("clear.me:")[..^1], StringComparison.Ordinal));
        Assert.Equal(31, ValueKeys().Count);
        Assert.True(Db.KeyExists(staleLock)); // locks are left to expire with their lease
        await g.ClearAsync();
        Assert.Equal([ValueKeyText("clear.me.not:1")], ValueKeys());
        Assert.Equal(
            new[] { GenerationKeyText("clear.async"), GenerationKeyText("clear.me"), GenerationKeyText("clear.me.not"), ValueKeyText("clear.me.not:1"), staleLock }.Order(StringComparer.Ordinal),
            Keys());
    }

    [RedisFact]
    public void Clear_NameWithGlobCharacters_MatchesOnlyItself()
    {
        var star = Cachify.Wrap((int x) => "star").Named("a*").NoSelf().Backend(Backend);
        var plain = Cachify.Wrap((int x) => "plain").Named("ab").NoSelf().Backend(Backend);
        var bracket = Cachify.Wrap((int x) => "bracket").Named("a[b]").NoSelf().Backend(Backend);
        star.Invoke(1);
        plain.Invoke(1);
        bracket.Invoke(1);

        star.Clear();
        bracket.Clear();

        Assert.Equal([ValueKeyText("ab:1")], ValueKeys());
    }

    [Trait("Category", "Reliability")]
    [RedisFact]
    public void Payload_Corrupt_IsAMissThatIsOverwritten()
    {
        var calls = 0;
        var f = Cachify.Wrap((int x) => ++calls).Named("corrupt").NoSelf().Backend(NewBackend(new RedisCacheOptions { LocalCache = new() { Enabled = false } })); // bytes changed behind its back
        f.Invoke(1);
        var key = ValueKey(f, 1);

        Db.StringSet(key, "not an envelope");
        Assert.Equal(2, f.Invoke(1));
        Assert.Equal(2, f.Invoke(1));

        // A valid envelope whose JSON does not fit the result type.
        var raw = (byte[])Db.StringGet(key)!;
        var broken = raw[..StoreEnvelope.HeaderSize].Concat("\"text\""u8.ToArray()).ToArray();
        Db.StringSet(key, broken);
        Assert.Equal(3, f.Invoke(1));
        Assert.Equal(3, f.Invoke(1));
    }

    [Trait("Category", "Reliability")]
    [RedisFact]
    public async Task Payload_WrittenForAnotherResultType_IsAMissThatIsOverwritten()
    {
        // Two deployments of one named function whose result type changed (another process, another type).
        var v1 = Cachify.Wrap((int x) => Task.FromResult(new Person(x, "v1"))).Named("changed").NoSelf().Backend(Backend);
        var v2 = Cachify.Wrap((int x) => Task.FromResult(new Renamed(x, "v2"))).Named("changed").NoSelf().Backend(NewBackend());

        Assert.Equal("v1", (await v1.Invoke(1)).Name);
        Assert.Equal("v2", (await v2.Invoke(1)).Title);
        Assert.Equal("v2", (await v2.Invoke(1)).Title);
    }

    [RedisFact]
    public void Payload_HasTheEnvelopeAndNoTypeName()
    {
        var f = Cachify.Wrap((int x) => new Person(x, "Ann")).Named("payload").NoSelf().Ttl(TimeSpan.FromSeconds(42)).Backend(Backend);
        f.Invoke(5);

        var raw = (byte[])Db.StringGet(ValueKey(f, 5))!;
        Assert.Equal(StoreEnvelope.Format, raw[0]);
        Assert.Equal(0, raw[1]); // not null, not never-die
        Assert.Equal(42_000L, System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(raw.AsSpan(10)));
        var json = Encoding.UTF8.GetString(raw, StoreEnvelope.HeaderSize, raw.Length - StoreEnvelope.HeaderSize);
        Assert.Equal("{\"Id\":5,\"Name\":\"Ann\"}", json);
        Assert.DoesNotContain("Person", Encoding.UTF8.GetString(raw), StringComparison.Ordinal);
    }

    [RedisFact]
    public void Serializer_Custom_IsUsedBothWays()
    {
        var serializer = new CountingSerializer();
        var backend = NewBackend(new RedisCacheOptions { Serializer = serializer });
        var f = Cachify.Wrap((int x) => "v" + x).Named("custom").NoSelf().Backend(backend);

        Assert.Equal("v1", f.Invoke(1));
        Assert.Equal("v1", Cachify.Wrap((int x) => "other").Named("custom").NoSelf().Backend(NewBackend(new RedisCacheOptions { Serializer = serializer })).Invoke(1));
        Assert.Equal(1, serializer.Writes);
        Assert.Equal(1, serializer.Reads);
    }

    [RedisFact]
    public void Prefixes_OnOneRedis_NeverSeeEachOthersEntries()
    {
        var first = NewBackend(prefix: Prefix + "a");
        var second = NewBackend(prefix: Prefix + "b");
        var a = Cachify.Wrap((int x) => "a").Named("shared.name").NoSelf().Backend(first);
        var b = Cachify.Wrap((int x) => "b").Named("shared.name").NoSelf().Backend(second);

        Assert.Equal("a", a.Invoke(1));
        Assert.Equal("b", b.Invoke(1));
        b.Clear();
        Assert.Equal("a", a.Invoke(1));
        Assert.Equal([GenerationKeyText("shared.name", Prefix + "a"), ValueKeyText("shared.name:1", Prefix + "a")], Keys(Prefix + "a"));
        Assert.Equal([GenerationKeyText("shared.name", Prefix + "b")], Keys(Prefix + "b")); // its value gone, its new generation left
    }

    [RedisFact]
    public void Dispose_CallsThrowObjectDisposed_EntriesStayInRedis()
    {
        var backend = NewBackend();
        var f = Cachify.Wrap((int x) => x).Named("disposed").NoSelf().Backend(backend);
        f.Invoke(1);

        backend.Dispose();

        Assert.Throws<ObjectDisposedException>(() => f.Invoke(1));
        Assert.Throws<ObjectDisposedException>(() => Cachify.Wrap((int x) => x).Named("disposed2").Backend(backend));
        Assert.Equal([GenerationKeyText("disposed"), ValueKeyText("disposed:1")], Keys());
    }

    [RedisFact]
    public async Task Dispose_EveryOperationAfterwards_ThrowsObjectDisposed()
    {
        var backend = NewBackend();
        var f = Cachify.Wrap((int x) => x).Named("disposed.ops").NoSelf().Backend(backend);
        var g = Cachify.Wrap((int x) => Task.FromResult(x)).Named("disposed.ops.async").NoSelf().Backend(backend);
        f.Invoke(1);
        await g.Invoke(1);

        backend.Dispose();
        backend.Dispose(); // idempotent

        Assert.Throws<ObjectDisposedException>(() => f.Invoke(1));
        Assert.Throws<ObjectDisposedException>(() => f.Invoke(1, skipCache: true));
        Assert.Throws<ObjectDisposedException>(() => f.Invalidate(1));
        Assert.Throws<ObjectDisposedException>(() => f.Clear());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => g.Invoke(1));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => g.InvalidateAsync(1).AsTask());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => g.ClearAsync().AsTask());
        Assert.Equal(0, Subscribers(backend)); // nothing subscribed again after the Dispose
        Assert.Equal([ValueKeyText("disposed.ops.async:1"), ValueKeyText("disposed.ops:1")], ValueKeys()); // the entries stay for other processes
    }

    [RedisFact]
    public void Dispose_WhileSubscribed_RemovesTheSubscription()
    {
        var backend = NewBackend();
        Subscribed(backend);
        Assert.Equal(1, Subscribers(backend));

        backend.Dispose();

        Bounded.Until(() => Subscribers(backend) == 0, "the subscription is gone", TimeSpan.FromSeconds(10));
    }

    [RedisFact]
    public async Task Dispose_WhileAnOwnerRuns_ItsLockIsNoLongerRenewedAndItsResultNotStored()
    {
        var backend = NewBackend(new RedisCacheOptions { LockTimeout = TimeSpan.FromMilliseconds(300) });
        var hang = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var f = Cachify.Wrap((int x) => hang.Task).Named("disposed.owner").NoSelf().Backend(backend);
        var call = f.Invoke(1);
        var lockKey = LockKey(ValueKey(f, 1));
        Bounded.Until(() => backend.Context.Renewals >= 2, "the owner renews its lock");

        backend.Dispose();

        // The renewal timer stops: the lock expires by itself while the function still runs, so other processes go on.
        Bounded.Until(() => !Db.KeyExists(lockKey), "the lock expired", TimeSpan.FromSeconds(10));
        Assert.False(call.IsCompleted);
        hang.SetResult(1);
        Assert.Equal(1, await call.WaitAsync(Bounded.Deadline)); // its callers get the result...
        Assert.Equal([GenerationKeyText("disposed.owner")], Keys()); // ...which is not stored (the generation was written before it ran)
    }

    /// <summary>Clients subscribed to the backend's backplane channel (<c>PUBSUB NUMSUB</c>, summed over the nodes of a cluster).</summary>
    private long Subscribers(RedisCacheBackend backend)
        => Fixture.Connection.GetServers().Where(s => s.IsConnected)
            .Sum(server => (long)((RedisResult[])server.Execute("PUBSUB", "NUMSUB", backend.Options.KeyPrefix + ":backplane")!)[1]);

    public sealed record Person(int Id, string Name);

    public sealed record Renamed(int Id, string Title);

    private sealed class Repo(string name)
    {
        public string Get(int id) => $"{name}:{id}";
    }

    private sealed class Overloads
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public string Kind(int x) => Counted("int " + x.ToString(System.Globalization.CultureInfo.InvariantCulture));

        public string Kind(long x) => Counted("long " + x.ToString(System.Globalization.CultureInfo.InvariantCulture));

        private string Counted(string result)
        {
            Interlocked.Increment(ref _count);
            return result;
        }
    }

    private sealed class CountingSerializer : ICacheSerializer
    {
        private int _writes;
        private int _reads;

        public int Writes => Volatile.Read(ref _writes);

        public int Reads => Volatile.Read(ref _reads);

        public void Serialize<T>(T value, IBufferWriter<byte> destination)
        {
            Interlocked.Increment(ref _writes);
            SystemTextJsonCacheSerializer.Default.Serialize(value, destination);
        }

        public T Deserialize<T>(ReadOnlySpan<byte> source)
        {
            Interlocked.Increment(ref _reads);
            return SystemTextJsonCacheSerializer.Default.Deserialize<T>(source);
        }
    }

    /// <summary>An instance method: a lambda that calls it captures this test object.</summary>
    private int Zero() => GetHashCode() & 0;

}
