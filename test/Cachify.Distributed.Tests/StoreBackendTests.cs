using System.Collections.Concurrent;
using CachifyNet.Stores;
using Microsoft.Extensions.Time.Testing;

namespace CachifyNet.Distributed.Tests;

/// <summary>
/// What a <see cref="CacheStoreBackend"/> does beyond the conformance suite (<see cref="StoreConformanceTests"/>), on every
/// store kind (<see cref="StoreKind.All"/>): values round-trip through each store's bytes, unreadable entries are misses,
/// and what cannot be stored is refused when the wrapper is bound.
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
        public CacheStoreBackend Backend(CacheStoreErrorMode onError = CacheStoreErrorMode.Silent, CacheStore? store = null, bool localLevel = true)
        {
            var backend = new CacheStoreBackend(store ?? Kind.Connect(), new CacheStoreBackendOptions
            {
                KeyPrefix = Prefix,
                TimeProvider = Time,
                OnError = onError,
                LocalCache = new LocalCacheOptions { Enabled = localLevel },
            });
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
    public async Task Invoke_UnreadableEntry_IsAMissAndIsOverwritten(string store)
    {
        using var scope = new Scope(store);
        var recording = new RecordingStore(scope.Kind.Connect());
        var runs = 0;
        // Without the local level: the bytes are changed behind the backend's back (no backplane could tell it).
        var get = Cachify.Wrap((int id) => Task.FromResult(Interlocked.Increment(ref runs))).Named("corrupt").Backend(scope.Backend(store: recording, localLevel: false));
        await get.Invoke(1);
        var valueKey = Assert.Single(recording.Written, key => key.Contains(":v:", StringComparison.Ordinal));

        await scope.Kind.Connect().WriteAsync(valueKey, new byte[] { 1, 2, 3 }, TimeSpan.FromMinutes(5), CancellationToken.None);

        Assert.Equal(2, await get.Invoke(1));
        Assert.Equal(2, await get.Invoke(1));
    }

    [Fact]
    public void Create_StoreWithAnEmptyKind_IsRefusedNamingItAndTheFix()
    {
        var error = Assert.Throws<ArgumentException>(() => new CacheStoreBackend(new UnnamedStore()));
        Assert.Equal("store", error.ParamName);
        Assert.Contains("UnnamedStore.Kind is empty", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A store whose <see cref="CacheStore.Kind"/> is empty (nothing else of it is used).</summary>
    private sealed class UnnamedStore : CacheStore
    {
        public override string Kind => " ";

        public override byte[]? Read(string key) => null;

        public override ValueTask<byte[]?> ReadAsync(string key, CancellationToken cancellationToken) => new((byte[]?)null);

        public override void Write(string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive)
        {
        }

        public override ValueTask WriteAsync(string key, ReadOnlyMemory<byte> value, TimeSpan timeToLive, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public override void Remove(string key)
        {
        }

        public override ValueTask RemoveAsync(string key, CancellationToken cancellationToken) => ValueTask.CompletedTask;
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
