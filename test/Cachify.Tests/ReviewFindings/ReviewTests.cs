#pragma warning disable xUnit1031, CA2000, IDE0005, CA1001, CA1707, CA1515, CA1822, CA1852, IDE0059
using CachifyNet.Internal;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Time.Testing;

namespace CachifyNet.Tests.Review;

/// <summary>A fake clock whose reads on one thread can be intercepted.</summary>
internal sealed class HookTime : FakeTimeProvider
{
    [ThreadStatic] public static Action<int>? Hook;
    [ThreadStatic] private static int _reads;

    public HookTime() : base(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)) { }

    public static void Arm(Action<int> hook) { _reads = 0; Hook = hook; }

    public override long GetTimestamp()
    {
        if (Hook is { } hook)
        {
            hook(++_reads);
        }

        return base.GetTimestamp();
    }
}

public class ReviewTests
{
    private static int Square(int x) => x * x + Interlocked.Increment(ref _squareCalls) * 1000;
    private static int _squareCalls;

    [Fact]
    public void Invalidate_WhileOwnerIsStoring_ValueComputedBeforeInvalidateIsServedAfterIt()
    {
        var time = new HookTime();
        using var cache = new MemoryCache(new MemoryCacheOptions());
        using var backend = new MemoryCacheBackend(cache, new MemoryCacheBackendOptions { TimeProvider = time });
        var atStore = new ManualResetEventSlim();
        var resume1 = new ManualResetEventSlim();
        var inserted = new ManualResetEventSlim();
        var resume2 = new ManualResetEventSlim();
        var calls = 0;
        var f = Cachify.Wrap((int x) =>
        {
            var n = Interlocked.Increment(ref calls);
            if (n == 1)
            {
                HookTime.Arm(read =>
                {
                    if (read == 1) { atStore.Set(); resume1.Wait(); }           // Store: after the MayStore check
                    else if (read == 2) { inserted.Set(); resume2.Wait(); HookTime.Hook = null; } // after the front insert
                });
            }

            return n;
        }).Ttl(TimeSpan.FromSeconds(10)).Backend(backend);

        var owner = Task.Factory.StartNew(() => f.Invoke(1), TaskCreationOptions.LongRunning);
        Assert.True(atStore.Wait(TimeSpan.FromSeconds(10)));
        f.Invalidate(1);                     // returns: nothing computed before this may be served any more
        resume1.Set();
        Assert.True(inserted.Wait(TimeSpan.FromSeconds(10)));
        var afterInvalidate = f.Invoke(1);
        resume2.Set();
        Assert.Equal(1, owner.Result);
        Assert.NotEqual(1, afterInvalidate); // computed before Invalidate returned
    }

    [Fact]
    public void Invalidate_DoomedOwnerStoresLate_DropsFresherValueOfNextCall()
    {
        var time = new HookTime();
        using var cache = new MemoryCache(new MemoryCacheOptions());
        using var backend = new MemoryCacheBackend(cache, new MemoryCacheBackendOptions { TimeProvider = time });
        var atStore = new ManualResetEventSlim();
        var resume1 = new ManualResetEventSlim();
        var calls = 0;
        var f = Cachify.Wrap((int x) =>
        {
            var n = Interlocked.Increment(ref calls);
            if (n == 1)
            {
                HookTime.Arm(read =>
                {
                    if (read == 1) { atStore.Set(); resume1.Wait(); HookTime.Hook = null; }
                });
            }

            return n;
        }).Ttl(TimeSpan.FromSeconds(10)).Backend(backend);

        var owner = Task.Factory.StartNew(() => f.Invoke(1), TaskCreationOptions.LongRunning);
        Assert.True(atStore.Wait(TimeSpan.FromSeconds(10)));
        f.Invalidate(1);
        Assert.Equal(2, f.Invoke(1));        // fresh value, computed and stored after Invalidate
        resume1.Set();
        Assert.Equal(1, owner.Result);       // the doomed owner replaced 2 by 1, then evicted its own entry
        Assert.Equal(2, f.Invoke(1));        // expected: the fresh value is still cached
    }

    [Fact]
    public void NeverDie_AnotherWrapperWithShorterTtlMisses_EntryStopsBeingNeverDie()
    {
        var fx = new MemoryFixture();
        var nd = Cachify.Wrap<int, int>(Square).Ttl(TimeSpan.FromSeconds(10)).NeverDie().Backend(fx.Backend);
        var plain = Cachify.Wrap<int, int>(Square).Ttl(TimeSpan.FromSeconds(5)).Backend(fx.Backend);
        var first = nd.Invoke(2);
        fx.Advance(TimeSpan.FromSeconds(6));
        _ = plain.Invoke(2);                 // entry older than 5 s: plain runs and replaces the never-die entry
        fx.Advance(TimeSpan.FromSeconds(6)); // plain's 5 s entry expires; no refresh was ever scheduled
        var before = Volatile.Read(ref _squareCalls);
        _ = nd.Invoke(2);
        Assert.Equal(before, Volatile.Read(ref _squareCalls)); // never-die reader must not miss
        fx.Dispose();
    }

    [Fact]
    public void DefaultTtl_SetAfterWrapWithExplicitBackend_IsIgnored()
    {
        var fx = new MemoryFixture();
        var saved = Cachify.DefaultTtl;
        try
        {
            var calls = 0;
            var f = Cachify.Wrap((int x) => Interlocked.Increment(ref calls)).Backend(fx.Backend); // created "in a static field"
            Cachify.DefaultTtl = TimeSpan.FromSeconds(10);                                        // set at start-up, before the first call
            f.Invoke(1);
            fx.Advance(TimeSpan.FromSeconds(11));
            f.Invoke(1);
            Assert.Equal(2, calls);          // README: defaults are read at the first call, so the 10 s TTL applies
        }
        finally
        {
            Cachify.DefaultTtl = saved;
            fx.Dispose();
        }
    }

    [Fact]
    public async Task Wrap_ValueTaskOrTaskResult_FaultedTaskIsCached()
    {
        using var fx = new MemoryFixture();
        var calls = 0;
        async ValueTask<int> Load(int id)
        {
            await Task.Yield();
            if (Interlocked.Increment(ref calls) == 1) { throw new InvalidOperationException("db down"); }
            return id;
        }

        var f = Cachify.Wrap((int id) => Load(id)).Backend(fx.Backend);   // binds to the *sync* overload: CachedFunc<int, ValueTask<int>>
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await f.Invoke(1));
        var second = await Record.ExceptionAsync(async () => await f.Invoke(1));
        Assert.Null(second);                                                 // "exceptions are never cached"
    }
}
