using System.Collections.Concurrent;
using CachifyNet.Stores;
using Microsoft.Extensions.Time.Testing;

namespace CachifyNet.Distributed.Tests;

/// <summary>
/// The behaviour of cached functions on a <see cref="CacheStoreBackend"/>, one body per behaviour, run on every store kind
/// (<see cref="StoreKind.All"/>): a plain dictionary store, Microsoft's RedisCache on a real redis-server, NeoSmart's SQLite
/// cache. A second client of the same store (<see cref="StoreKind.Connect"/>) stands in for another process.
/// </summary>
public sealed class StoreBackendTests
{
    public static TheoryData<string> Stores => StoreKind.All;

    public sealed record Order(int Id, string Customer, List<int> Lines, decimal Total);

    private static Order MakeOrder(int id, int version) => new(id, "c" + version, [id, version, 3], id * 1.5m + version);

    private static void AssertSame(Order expected, Order actual)
        => Assert.Equal((expected.Id, expected.Customer, expected.Total, string.Join(",", expected.Lines)), (actual.Id, actual.Customer, actual.Total, string.Join(",", actual.Lines)));

    /// <summary>A store kind, a fake clock, a prefix of its own, and the backends of one test.</summary>
    private sealed class Scope(string store) : IDisposable
    {
        private readonly List<IDisposable> _owned = [];

        public StoreKind Kind { get; } = StoreKind.Create(store);

        public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

        public string Prefix { get; } = "t" + Guid.NewGuid().ToString("N")[..12];

        /// <summary>A backend on a new client of the store (another process, as far as the store can tell).</summary>
        public CacheStoreBackend Backend(CacheStoreErrorMode onError = CacheStoreErrorMode.Silent, CacheStore? store = null)
        {
            var backend = new CacheStoreBackend(store ?? Kind.Connect(), new CacheStoreBackendOptions { KeyPrefix = Prefix, TimeProvider = Time, OnError = onError });
            _owned.Add(backend);
            return backend;
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

    [Theory]
    [MemberData(nameof(Stores))]
    public void Invoke_SecondCall_ReturnsTheSameValueWithoutRunning(string store)
    {
        using var scope = new Scope(store);
        var runs = 0;
        var get = Cachify.Wrap((int id) => MakeOrder(id, Interlocked.Increment(ref runs))).Named("orders").Backend(scope.Backend());

        var first = get.Invoke(7);
        var second = get.Invoke(7);

        Assert.Equal(1, runs);
        AssertSame(first, second);
        AssertSame(MakeOrder(7, 1), second);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task InvokeAsync_SecondCall_ReturnsTheSameValueWithoutRunning(string store)
    {
        using var scope = new Scope(store);
        var runs = 0;
        var get = Cachify.Wrap((int id) => Task.FromResult(MakeOrder(id, Interlocked.Increment(ref runs)))).Named("orders").Backend(scope.Backend());

        var first = await get.Invoke(7);
        var second = await get.Invoke(7);
        var other = await get.Invoke(8);

        Assert.Equal(2, runs);
        AssertSame(first, second);
        Assert.Equal(8, other.Id);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Invoke_FromAnotherProcess_ReadsTheEntryAndRunsNothing(string store)
    {
        using var scope = new Scope(store);
        var runs = 0;
        Func<int, Task<Order>> function = id => Task.FromResult(MakeOrder(id, Interlocked.Increment(ref runs)));
        var here = Cachify.Wrap(function).Named("orders").Backend(scope.Backend());
        var there = Cachify.Wrap(function).Named("orders").Backend(scope.Backend());
        var thereSync = Cachify.Wrap((int id) => MakeOrder(id, Interlocked.Increment(ref runs))).Named("orders").Backend(scope.Backend());

        var written = await here.Invoke(3);
        var read = await there.Invoke(3);
        var readSync = thereSync.Invoke(3);

        Assert.Equal(1, runs);
        AssertSame(written, read);
        AssertSame(written, readSync);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public void Invoke_PastTtl_RunsAgain_EvenIfTheStoreStillHoldsTheEntry(string store)
    {
        using var scope = new Scope(store);
        var runs = 0;
        var get = Cachify.Wrap((int id) => id * 10 + Interlocked.Increment(ref runs)).Named("ttl").Ttl(TimeSpan.FromMinutes(1)).Backend(scope.Backend());

        Assert.Equal(11, get.Invoke(1));
        scope.Time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(11, get.Invoke(1));
        scope.Time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(12, get.Invoke(1));
        Assert.Equal(2, runs);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public void Invoke_ReaderWithAShorterTtl_NeverTakesAnEntryOlderThanItsTtl(string store)
    {
        using var scope = new Scope(store);
        var runs = 0;
        var backend = scope.Backend();
        var longLived = Cachify.Wrap((int id) => Interlocked.Increment(ref runs)).Named("shared").Ttl(TimeSpan.FromMinutes(10)).Backend(backend);
        var shortLived = Cachify.Wrap((int id) => Interlocked.Increment(ref runs)).Named("shared").Ttl(TimeSpan.FromMinutes(1)).Backend(scope.Backend());

        Assert.Equal(1, longLived.Invoke(1));
        Assert.Equal(1, shortLived.Invoke(1));
        scope.Time.Advance(TimeSpan.FromMinutes(2));

        Assert.Equal(2, shortLived.Invoke(1));
        Assert.Equal(2, longLived.Invoke(1));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Invoke_SkipCache_RunsAndEveryProcessSeesTheNewValue(string store)
    {
        using var scope = new Scope(store);
        var version = 0;
        Func<int, Task<int>> function = id => Task.FromResult(Interlocked.Increment(ref version));
        var here = Cachify.Wrap(function).Named("skip").Backend(scope.Backend());
        var there = Cachify.Wrap(function).Named("skip").Backend(scope.Backend());

        Assert.Equal(1, await here.Invoke(1));
        Assert.Equal(2, await here.Invoke(1, skipCache: true));

        Assert.Equal(2, await there.Invoke(1));
        Assert.Equal(2, await here.Invoke(1));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Invalidate_NextCallInEveryProcessRuns(string store)
    {
        using var scope = new Scope(store);
        var version = 0;
        Func<int, Task<int>> function = id => Task.FromResult(Interlocked.Increment(ref version));
        var here = Cachify.Wrap(function).Named("inv").Backend(scope.Backend());
        var there = Cachify.Wrap(function).Named("inv").Backend(scope.Backend());
        Assert.Equal(1, await here.Invoke(1));
        Assert.Equal(2, await here.Invoke(2));

        await there.InvalidateAsync(1);

        Assert.Equal(3, await here.Invoke(1));
        Assert.Equal(2, await there.Invoke(2));
        here.Invalidate(2);
        Assert.Equal(4, await there.Invoke(2));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Clear_EveryKeyInEveryProcessMisses_OtherFunctionsKeepTheirs(string store)
    {
        using var scope = new Scope(store);
        var version = 0;
        Func<int, Task<int>> function = id => Task.FromResult(Interlocked.Increment(ref version));
        var here = Cachify.Wrap(function).Named("clear").Backend(scope.Backend());
        var there = Cachify.Wrap(function).Named("clear").Backend(scope.Backend());
        var other = Cachify.Wrap(function).Named("other").Backend(scope.Backend());
        await here.Invoke(1);
        await here.Invoke(2);
        var kept = await other.Invoke(1);

        await there.ClearAsync();

        Assert.Equal(4, await here.Invoke(1));
        Assert.Equal(4, await there.Invoke(1));
        Assert.Equal(5, await there.Invoke(2));
        Assert.Equal(kept, await other.Invoke(1));
        here.Clear();
        Assert.Equal(6, await there.Invoke(2));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Invoke_NullResult_IsCached(string store)
    {
        using var scope = new Scope(store);
        var runs = 0;
        var get = Cachify.Wrap((int id) => { Interlocked.Increment(ref runs); return Task.FromResult<Order?>(null); }).Named("null").Backend(scope.Backend());

        Assert.Null(await get.Invoke(1));
        Assert.Null(await get.Invoke(1));
        Assert.Equal(1, runs);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Invoke_FunctionThrows_NothingIsCached(string store)
    {
        using var scope = new Scope(store);
        var runs = 0;
        var get = Cachify.Wrap((int id) => Interlocked.Increment(ref runs) == 1 ? throw new InvalidOperationException("first") : Task.FromResult(runs)).Named("throws").NoSelf().Backend(scope.Backend());

        await Assert.ThrowsAsync<InvalidOperationException>(() => get.Invoke(1));

        Assert.Equal(2, await get.Invoke(1));
        Assert.Equal(2, await get.Invoke(1));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Invoke_ConcurrentCallersOfOneKey_RunTheFunctionOnce(string store)
    {
        using var scope = new Scope(store);
        var runs = 0;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var get = Cachify.Wrap(async (int id) =>
        {
            Interlocked.Increment(ref runs);
            started.TrySetResult();
            await release.Task;
            return id * 2;
        }).Named("stampede").NoSelf().Backend(scope.Backend());

        var first = get.Invoke(21);
        await started.Task.Within("the first execution to start");
        var others = Enumerable.Range(0, 16).Select(_ => Task.Run(() => get.Invoke(21))).ToArray();
        release.SetResult();
        var results = await Task.WhenAll(others.Append(first)).Within("every caller");

        Assert.All(results, result => Assert.Equal(42, result));
        Assert.Equal(1, runs);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task NeverDie_PastTtl_ServesTheLastValueThenTheRefreshedOne(string store)
    {
        using var scope = new Scope(store);
        var version = 0;
        var refreshed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var get = Cachify.Wrap((int id) =>
        {
            var v = Interlocked.Increment(ref version);
            if (v == 2)
            {
                refreshed.TrySetResult();
            }

            return Task.FromResult(v);
        }).Named("never-die").Ttl(TimeSpan.FromMinutes(1)).NeverDie().NoSelf().Backend(scope.Backend());

        Assert.Equal(1, await get.Invoke(1));
        scope.Time.Advance(TimeSpan.FromMinutes(1));
        await refreshed.Task.Within("the background refresh");

        // The refresh stores after the function returns: until then the last value is served, never a miss.
        var seen = await get.Invoke(1);
        Assert.InRange(seen, 1, 2);
        await EventuallyAsync(async () => await get.Invoke(1) == 2, "the refreshed value to be served");
        Assert.Equal(2, version);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task StoreDown_Silent_CallsRunUncached_Throw_CallsFail_RemovalsAlwaysFail(string store)
    {
        using var scope = new Scope(store);
        var silentStore = new FaultyStore(scope.Kind.Connect());
        var throwingStore = new FaultyStore(scope.Kind.Connect());
        var runs = 0;
        Func<int, Task<int>> function = id => Task.FromResult(Interlocked.Increment(ref runs));
        var silent = Cachify.Wrap(function).Named("faults").NoSelf().Backend(scope.Backend(CacheStoreErrorMode.Silent, silentStore));
        var throwing = Cachify.Wrap(function).Named("faults").NoSelf().Backend(scope.Backend(CacheStoreErrorMode.Throw, throwingStore));
        Assert.Equal(1, await silent.Invoke(1));
        silentStore.Failing = throwingStore.Failing = true;

        Assert.Equal(2, await silent.Invoke(1));
        Assert.Equal(3, await silent.Invoke(1));
        var thrown = await Assert.ThrowsAsync<CachifyException>(() => throwing.Invoke(1));
        Assert.IsType<IOException>(thrown.InnerException);
        await Assert.ThrowsAsync<CachifyException>(() => silent.InvalidateAsync(1).AsTask());
        Assert.Throws<CachifyException>(() => silent.Clear());

        silentStore.Failing = throwingStore.Failing = false;
        Assert.Equal(1, await silent.Invoke(1));
        Assert.Equal(1, await throwing.Invoke(1));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Invoke_UnreadableEntry_IsAMissAndIsOverwritten(string store)
    {
        using var scope = new Scope(store);
        var recording = new RecordingStore(scope.Kind.Connect());
        var runs = 0;
        var get = Cachify.Wrap((int id) => Task.FromResult(Interlocked.Increment(ref runs))).Named("corrupt").Backend(scope.Backend(store: recording));
        await get.Invoke(1);
        var valueKey = Assert.Single(recording.Written, key => key.Contains(":v:", StringComparison.Ordinal));

        await scope.Kind.Connect().WriteAsync(valueKey, new byte[] { 1, 2, 3 }, TimeSpan.FromMinutes(5), CancellationToken.None);

        Assert.Equal(2, await get.Invoke(1));
        Assert.Equal(2, await get.Invoke(1));
    }

    [Fact]
    public void Bind_ResultThatWouldLoseState_IsRefusedNamingTheFix()
    {
        using var scope = new Scope("dictionary");
        var get = Cachify.Wrap((int id) => new Hidden(id)).Named("hidden").Backend(scope.Backend());

        var error = Assert.Throws<ArgumentException>(() => get.Invoke(1));

        Assert.Contains("CacheStoreBackendOptions.Serializer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bind_MethodOfAnInstance_IsRefusedNamingNoSelf()
    {
        using var scope = new Scope("dictionary");
        var service = new Service();
        var get = Cachify.Wrap<int, int>(service.Compute).Backend(scope.Backend());

        var error = Assert.Throws<ArgumentException>(() => get.Invoke(1));

        Assert.Contains(".NoSelf()", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, Cachify.Wrap<int, int>(service.Compute).NoSelf().Backend(scope.Backend()).Invoke(1));
    }

    [Fact]
    public void Options_InvalidPrefix_IsRefusedNamingTheOption()
    {
        var error = Assert.Throws<ArgumentException>(() => new CacheStoreBackend(new FaultyStore(new DictionaryStoreKind().Connect()), new CacheStoreBackendOptions { KeyPrefix = "a:b" }));

        Assert.Contains("KeyPrefix", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Checks <paramref name="condition"/> until it holds, yielding between checks; fails after <see cref="Bounded.Deadline"/>.</summary>
    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(watch.Elapsed < Bounded.Deadline, $"Timed out after {Bounded.Deadline} waiting until {what}.");
            await Task.Yield();
        }
    }

    public sealed class Hidden(int id)
    {
        private readonly int _secret = id;

        public int Id => _secret;
    }

    public sealed class Service
    {
        public int Compute(int x) => x * 2;
    }

    /// <summary>Remembers the keys written through it.</summary>
    private sealed class RecordingStore(CacheStore inner) : CacheStore
    {
        public ConcurrentBag<string> Written { get; } = [];

        public override byte[]? Read(string key) => inner.Read(key);

        public override ValueTask<byte[]?> ReadAsync(string key, CancellationToken cancellationToken) => inner.ReadAsync(key, cancellationToken);

        public override void Write(string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive)
        {
            Written.Add(key);
            inner.Write(key, value, timeToLive);
        }

        public override ValueTask WriteAsync(string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive, CancellationToken cancellationToken)
        {
            Written.Add(key);
            return inner.WriteAsync(key, value, timeToLive, cancellationToken);
        }

        public override void Remove(string key) => inner.Remove(key);

        public override ValueTask RemoveAsync(string key, CancellationToken cancellationToken) => inner.RemoveAsync(key, cancellationToken);
    }
}
