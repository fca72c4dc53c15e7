using System.Collections.Concurrent;
using CachifyNet.Stores;

namespace CachifyNet.Distributed.Tests;

/// <summary>
/// A lambda is keyed by the captured variables it reads, not by those other lambdas of the same scope read (the compiler
/// keeps all of a scope's captured variables in one closure object). Run on a shared store, where a captured instance is
/// refused and a captured value is written into the key.
/// </summary>
public sealed class ClosureKeyTests : IDisposable
{
    private readonly CacheStoreBackend _backend = new(
        new DictionaryStore(new ConcurrentDictionary<string, (byte[] Value, DateTimeOffset Expires)>(), TimeProvider.System),
        new CacheStoreBackendOptions { KeyPrefix = "closures" });

    private static int _runs;

    public void Dispose() => _backend.Dispose();

    /// <summary>A request-like object: keyed by reference (no Equals, state not shown), so a store refuses it.</summary>
    private sealed class RequestContext
    {
        private readonly Guid _id = Guid.NewGuid();

        public override string ToString() => _id.ToString();
    }

    private int Handle(int id, string culture)
    {
        var context = new RequestContext();
        Func<string> neighbour = () => context + culture;
        Assert.NotNull(neighbour);
        return Cachify.Wrap((int i) => { Interlocked.Increment(ref _runs); return i * 100 + culture.Length; }).Named("sync").Backend(_backend).Invoke(id);
    }

    private async Task<int> HandleAsync(int id, string culture)
    {
        var context = new RequestContext();
        Func<string> neighbour = () => context + culture;
        Assert.NotNull(neighbour);
        return await Cachify.Wrap(async (int i) =>
        {
            await Task.Yield();
            Interlocked.Increment(ref _runs);
            return i * 100 + culture.Length;
        }).Named("async").Backend(_backend).Invoke(id);
    }

    [Fact]
    public void Invoke_ANeighbourCapturesARequestObject_KeyedByWhatTheLambdaReads()
    {
        var before = Volatile.Read(ref _runs);

        Assert.Equal(705, Handle(7, "en-GB"));
        Assert.Equal(705, Handle(7, "en-GB"));
        Assert.Equal(702, Handle(7, "fr"));

        Assert.Equal(2, Volatile.Read(ref _runs) - before);
    }

    [Fact]
    public async Task InvokeAsync_ANeighbourCapturesARequestObject_KeyedByWhatTheLambdaReads()
    {
        var before = Volatile.Read(ref _runs);

        Assert.Equal(705, await HandleAsync(7, "en-GB"));
        Assert.Equal(705, await HandleAsync(7, "en-GB"));
        Assert.Equal(702, await HandleAsync(7, "fr"));

        Assert.Equal(2, Volatile.Read(ref _runs) - before);
    }

    [Fact]
    public void Invoke_LambdaReadsAVariableThroughANeighbourDelegate_IsKeyedByEveryVariable()
    {
        using var memory = new MemoryCacheBackend();
        var y = 0;
        Func<int> inner = () => y;
        var got = new List<int>();
        for (y = 0; y < 3; y++)
        {
            // The lambda's own IL loads only 'inner'; 'inner' reads 'y' from the same closure object.
            got.Add(Cachify.Wrap(() => inner() * 10).Backend(memory).Invoke());
        }

        Assert.Equal([0, 10, 20], got);
    }

    [Fact]
    public void Invoke_TheLambdaItselfReadsARequestObject_IsStillRefused()
    {
        var context = new RequestContext();
        var get = Cachify.Wrap((int i) => i + context.ToString().Length).Named("refused").Backend(_backend);

        var error = Assert.Throws<ArgumentException>(() => get.Invoke(1));

        Assert.Contains(".NoSelf()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invoke_ALambdaCapturingARedisDatabase_IsRefusedAtBindNamingNoSelf()
    {
        // What a user writes first: a top-level program whose lambda captures its IDatabase (no server is needed to get one).
        using var redis = StackExchange.Redis.ConnectionMultiplexer.Connect("127.0.0.1:1,abortConnect=false,connectTimeout=100");
        StackExchange.Redis.IDatabase db = redis.GetDatabase();
        var get = Cachify.Wrap(async (int i) => { await Task.Yield(); return i + db.Database; }).Named("service").Backend(_backend);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => get.Invoke(1));

        Assert.Contains(".NoSelf()", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, await get.NoSelf().Invoke(1)); // the fix it names works
    }
}
