using CachifyNet.Stores;
using Microsoft.Extensions.Time.Testing;

namespace CachifyNet.Distributed.Tests;

/// <summary>
/// The local level of a <see cref="CacheStoreBackend"/> (copies in process memory, kept coherent by a backplane), on every
/// store kind. Two backends on two clients of one store, joined by an <see cref="InProcessBackplane"/>, stand for two
/// processes. The semantics every backend shares (hits, TTL, Invalidate and Clear reaching other processes...) are in the
/// conformance suite, which runs with the local level on.
/// </summary>
public sealed class LocalLevelTests
{
    public static TheoryData<string, bool> StoresAndForms
    {
        get
        {
            var data = new TheoryData<string, bool>();
            foreach (var store in new[] { "dictionary", "redis-cache", "sqlite" })
            {
                data.Add(store, false);
                data.Add(store, true);
            }

            return data;
        }
    }

    public static TheoryData<string> Stores => StoreKind.All;

    [Theory]
    [MemberData(nameof(StoresAndForms))]
    public async Task Hit_OfACopy_DoesNotReadTheStore(string store, bool async)
    {
        using var scope = new Scope(store);
        var gated = new GatedStore(scope.Kind.Connect());
        var get = scope.Wrap(async, "copy.hit", gated);
        var first = await get.Invoke(1);

        var reads = gated.ValueReads;
        Assert.Equal(first, await get.Invoke(1));
        Assert.Equal(first, await get.Invoke(1));

        Assert.Equal(reads, gated.ValueReads);
    }

    [Theory]
    [MemberData(nameof(StoresAndForms))]
    public async Task Change_WhileAReadIsUnderWay_TheOlderValueIsNeverKeptLocally(string store, bool async)
    {
        using var scope = new Scope(store);
        var gated = new GatedStore(scope.Kind.Connect());
        var here = scope.Wrap(async, "race", gated, version: "here");
        var there = scope.Wrap(async, "race", scope.Kind.Connect(), version: "there");
        var old = await there.Invoke(1);                        // the store holds "there1"

        gated.Hold();
        var slow = Task.Run(() => here.Invoke(1));              // reads "there1", then waits
        await gated.ReadTaken.Within("the read took the old bytes");
        var newer = await there.SkipCache(1);            // another process stores a newer value and says so
        gated.Release();

        Assert.Equal(old, await slow.Within("the slow read returned"));   // it began before the change: the old value is its answer...
        Assert.Equal(newer, await here.Invoke(1));              // ...but no copy of it outlives the notice
    }

    [Theory]
    [MemberData(nameof(StoresAndForms))]
    public async Task Invalidate_WhileAReadIsUnderWay_NoCopyOutlivesIt(string store, bool async)
    {
        using var scope = new Scope(store);
        var gated = new GatedStore(scope.Kind.Connect());
        var here = scope.Wrap(async, "invalidate.race", gated);
        var first = await scope.Wrap(async, "invalidate.race", scope.Kind.Connect(), version: "there").Invoke(1);

        gated.Hold();
        var slow = Task.Run(() => here.Invoke(1));
        await gated.ReadTaken.Within("the read took the bytes");
        await here.Invalidate(1);                        // returns before the slow read does
        gated.Release();
        await slow.Within("the slow read returned");

        Assert.NotEqual(first, await here.Invoke(1));           // read your invalidation: the function ran again
    }

    [Theory]
    [MemberData(nameof(StoresAndForms))]
    public async Task SkipCache_WhileAReadOfTheOldValueIsUnderWayHere_NoCopyOfItOutlivesTheWrite(string store, bool async)
    {
        using var scope = new Scope(store);
        var gated = new GatedStore(scope.Kind.Connect());
        var here = scope.Wrap(async, "own.write.race", gated);
        var old = await scope.Wrap(async, "own.write.race", scope.Kind.Connect(), version: "there").Invoke(1);

        gated.Hold();
        var slow = Task.Run(() => here.Invoke(1));                    // reads the old value (outside the single flight), then waits
        await gated.ReadTaken.Within("the read took the old bytes");
        var written = await here.SkipCache(1);                        // this process writes a new one (its own notice never comes back)
        gated.Release();

        Assert.Equal(old, await slow.Within("the slow read returned"));
        Assert.Equal(written, await here.Invoke(1));                  // read your write: the old copy never landed
    }

    [Theory]
    [MemberData(nameof(StoresAndForms))]
    public async Task BackplaneLost_CopiesAreNotTrusted_UntilItIsBackAndTheyAreDropped(string store, bool async)
    {
        using var scope = new Scope(store);
        var here = scope.Wrap(async, "lost", scope.Kind.Connect(), version: "here");
        var there = scope.Wrap(async, "lost", scope.Kind.Connect(), version: "there");
        var first = await here.Invoke(1);
        Assert.Equal(first, await there.Invoke(1));

        scope.Backplane.Lose();
        var changed = await there.SkipCache(1);          // its notice is lost

        Assert.Equal(changed, await here.Invoke(1));            // not trusted: read from the store
        scope.Backplane.Restore();
        Assert.Equal(changed, await here.Invoke(1));
        var again = await there.SkipCache(1);            // notices flow again
        Assert.Equal(again, await here.Invoke(1));
    }

    [Theory]
    [MemberData(nameof(StoresAndForms))]
    public async Task BackplaneLostAndStoreDown_CopiesAnswer(string store, bool async)
    {
        using var scope = new Scope(store);
        var faulty = new FaultyStore(scope.Kind.Connect());
        var here = scope.Wrap(async, "down", faulty);
        var first = await here.Invoke(1);

        scope.Backplane.Lose();
        faulty.Failing = true;

        Assert.Equal(first, await here.Invoke(1));              // the last value this process knew, within its TTL
        scope.Time.Advance(Scope.Ttl);
        Assert.NotEqual(first, await here.Invoke(1));           // not past it
    }

    [Theory]
    [MemberData(nameof(StoresAndForms))]
    public async Task NoBackplane_AChangeElsewhereShowsOnceTheCopyReachesItsMaxLifetime(string store, bool async)
    {
        using var scope = new Scope(store);
        var here = scope.Wrap(async, "nobackplane", scope.Kind.Connect(), version: "here", backplane: false);
        var there = scope.Wrap(async, "nobackplane", scope.Kind.Connect(), version: "there", backplane: false);
        var first = await here.Invoke(1);
        var changed = await there.SkipCache(1);

        Assert.Equal(first, await here.Invoke(1));              // the documented bound: up to MaxLifetime (1 s by default)
        scope.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(changed, await here.Invoke(1));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task SizeLimit_TheOldestCopiesGoFirst(string store)
    {
        using var scope = new Scope(store);
        var gated = new GatedStore(scope.Kind.Connect());
        var get = scope.Wrap(async: true, "size", gated, options: new LocalCacheOptions { SizeLimit = 2 });
        await get.Invoke(1);
        await get.Invoke(2);
        await get.Invoke(3);                                    // the copy of 1 goes
        var reads = gated.ValueReads;

        await get.Invoke(3);
        await get.Invoke(2);
        Assert.Equal(reads, gated.ValueReads);           // 2 and 3 answered locally
        await get.Invoke(1);
        Assert.Equal(reads + 1, gated.ValueReads);       // 1 read from the store again
    }

    [Fact]
    public void Options_Invalid_AreRefusedNamingTheFix()
    {
        var store = new DictionaryStore(new(), TimeProvider.System);
        Assert.Contains("SizeLimit", Assert.ThrowsAny<ArgumentException>(() => new CacheStoreBackend(store, new() { LocalCache = new() { SizeLimit = 0 } })).Message, StringComparison.Ordinal);
        Assert.Contains("MaxLifetime", Assert.ThrowsAny<ArgumentException>(() => new CacheStoreBackend(store, new() { LocalCache = new() { MaxLifetime = TimeSpan.Zero } })).Message, StringComparison.Ordinal);
        Assert.Contains("LocalCache", Assert.Throws<ArgumentException>(() => new CacheStoreBackend(store, new() { LocalCache = null! })).Message, StringComparison.Ordinal);
    }

    /// <summary>A cached function of one process, in either call form.</summary>
    private sealed record Caller(Func<int, Task<string>> Invoke, Func<int, Task<string>> SkipCache, Func<int, Task> Invalidate);

    /// <summary>One test's store, clock, backplane and backends (each on its own client of the store: its own process).</summary>
    private sealed class Scope(string store) : IDisposable
    {
        public static readonly TimeSpan Ttl = TimeSpan.FromMinutes(5);

        private readonly List<IDisposable> _owned = [];
        private readonly string _prefix = "l" + Guid.NewGuid().ToString("N")[..12];

        public StoreKind Kind { get; } = StoreKind.Create(store);

        public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

        public InProcessBackplane Backplane { get; } = new();

        /// <summary>A wrapper in a new process whose function returns <paramref name="version"/> and a run count.</summary>
        public Caller Wrap(bool async, string name, CacheStore client, string version = "v", bool backplane = true, LocalCacheOptions? options = null)
        {
            var backend = new CacheStoreBackend(client, new CacheStoreBackendOptions
            {
                KeyPrefix = _prefix,
                TimeProvider = Time,
                LocalCache = options ?? new LocalCacheOptions(),
                Backplane = backplane ? Backplane : null,
            });
            _owned.Add(backend);
            var runs = 0;
            if (async)
            {
                var f = Cachify.Wrap(async (int x) => { await Task.Yield(); return version + Interlocked.Increment(ref runs); }).Named(name).NoSelf().Ttl(Ttl).Backend(backend);
                return new(x => f.Invoke(x), x => f.Invoke(x, skipCache: true), x => f.InvalidateAsync(x).AsTask());
            }

            var g = Cachify.Wrap((int x) => version + Interlocked.Increment(ref runs)).Named(name).NoSelf().Ttl(Ttl).Backend(backend);
            return new(x => Task.FromResult(g.Invoke(x)), x => Task.FromResult(g.Invoke(x, skipCache: true)), x => { g.Invalidate(x); return Task.CompletedTask; });
        }

        public void Dispose()
        {
            foreach (var owned in _owned)
            {
                owned.Dispose();
            }

            Kind.Dispose();
        }
    }
}
