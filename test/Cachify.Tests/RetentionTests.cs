using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CachifyNet.Tests;

/// <summary>
/// What entries keep alive: written by closures capturing large objects (a request's services), then the wrappers are
/// dropped; a full GC must collect every captured object while the entries still hit.
/// </summary>
[Collection("Retention")]
public class RetentionTests
{
    private const int Writers = 200;
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(10);

    /// <summary>Stands for a request's service: a megabyte, compared by reference.</summary>
    public sealed class Payload
    {
        public readonly byte[] Bytes = new byte[1 << 20];

        public int Compute(int x) => x * 2;
    }

    [Fact]
    public void Entries_OfDroppedNoSelfWrappers_KeepNoCapturedObject()
    {
        using var fx = new MemoryFixture();
        var calls = 0;
        var alive = WriteWithClosures(fx.Backend, neverDie: false, () => calls++);
        Assert.Equal(Writers, calls);

        var survivors = CountAliveAfterFullGc(alive);

        // A new wrapper of the same lambda (a new closure, a new payload) reads every entry.
        var reader = Wrapper(new Payload(), fx.Backend, neverDie: false, () => calls++);
        for (var i = 0; i < Writers; i++)
        {
            Assert.Equal(i * 2, reader.Invoke(i));
        }

        Assert.Equal(Writers, calls); // all hits
        Assert.Equal(0, survivors);
    }

    [Fact]
    public async Task Entries_OfAddCachedFunc_KeepNoScopedServiceEvenWhenNeverDie()
    {
        var time = new FakeTimeProvider();
        var created = new List<WeakReference>();
        await using var provider = new ServiceCollection()
            .AddSingleton<TimeProvider>(time)
            .AddScoped(_ =>
            {
                var payload = new Payload();
                lock (created)
                {
                    created.Add(new WeakReference(payload));
                }

                return payload;
            })
            .AddCachify(o => o.DefaultTtl = Ttl)
            .AddCachedFunc<Payload, int, int>((p, x, _) => Task.FromResult(p.Compute(x)), o => o.NeverDie())
            .BuildServiceProvider();
        var f = provider.GetRequiredService<CancellableAsyncCachedFunc<int, int>>();
        for (var i = 0; i < Writers; i++)
        {
            Assert.Equal(i * 2, await f.Invoke(i, CancellationToken.None));
        }

        time.Advance(Ttl); // every entry refreshes once, each in its own scope
        await ((ICacheBackend)provider.GetRequiredService<ICacheBackend>()).Services.WhenIdle().WaitAsync(Bounded.Deadline);
        Assert.Equal(2 * Writers, created.Count);

        var survivors = CountAliveAfterFullGc(created);
        for (var i = 0; i < Writers; i++)
        {
            Assert.Equal(i * 2, await f.Invoke(i, CancellationToken.None));
        }

        Assert.Equal(2 * Writers, created.Count); // all hits
        Assert.Equal(0, survivors);
    }

    /// <summary>Never-die entries of plain wrappers keep the function for their refreshes, and with it what it captured (documented).</summary>
    [Fact]
    public void Entries_OfDroppedNeverDieWrappers_KeepTheirWritersFunction()
    {
        using var fx = new MemoryFixture();
        var alive = WriteWithClosures(fx.Backend, neverDie: true, () => { });
        Assert.True(CountAliveAfterFullGc(alive) > 0);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<WeakReference> WriteWithClosures(ICacheBackend backend, bool neverDie, Action onCall)
    {
        var alive = new List<WeakReference>();
        for (var i = 0; i < Writers; i++)
        {
            var payload = new Payload();
            alive.Add(new WeakReference(payload));
            Assert.Equal(i * 2, Wrapper(payload, backend, neverDie, onCall).Invoke(i));
        }

        return alive;
    }

    /// <summary>Each call makes a new closure over <paramref name="payload"/>: one lambda, so one identity; NoSelf leaves the closure out of the key.</summary>
    private static CachedFunc<int, int> Wrapper(Payload payload, ICacheBackend backend, bool neverDie, Action onCall)
    {
        var f = Cachify.Wrap((int x) =>
        {
            onCall();
            return payload.Compute(x);
        }).NoSelf().Ttl(Ttl).Backend(backend);
        return neverDie ? f.NeverDie() : f;
    }

    private static int CountAliveAfterFullGc(List<WeakReference> references)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        var alive = references.Count(r => r.IsAlive);
        Console.WriteLine($"Retention: {alive} of {references.Count} captured 1 MB objects alive after a full GC.");
        return alive;
    }
}
