using CachifyNet.Internal;
using Microsoft.Extensions.DependencyInjection;

namespace CachifyNet.Tests;

public class CachedFuncTests : IDisposable
{
    private readonly MemoryFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public async Task NoArguments_ExpiryInvalidateClearSkipCacheAndRefresh_AllWork()
    {
        var calls = 0;
        var f = Cachify.Wrap(() => Interlocked.Increment(ref calls)).Ttl(TimeSpan.FromSeconds(10)).Backend(_fx.Backend);

        Assert.Equal(1, f.Invoke());
        Assert.Equal(1, f.Invoke());
        _fx.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(2, f.Invoke());       // expired at TTL
        f.Invalidate();
        Assert.Equal(3, f.Invoke());       // invalidated
        Assert.Equal(4, f.Invoke(skipCache: true));
        Assert.Equal(4, f.Invoke());       // skip-cache stored its result
        f.Clear();
        Assert.Equal(5, f.Invoke());

        var refreshed = Cachify.Wrap(() => Interlocked.Increment(ref calls)).Ttl(TimeSpan.FromSeconds(10)).NeverDie().Backend(_fx.Backend);
        var before = refreshed.Invoke();
        _fx.Advance(TimeSpan.FromSeconds(10));
        await _fx.RefreshesDone();
        Assert.Equal(before + 1, refreshed.Invoke()); // refreshed in the background, served without a miss
    }

    [Fact]
    public async Task NoArguments_ConcurrentCallers_RunOnce()
    {
        var calls = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var f = Cachify.Wrap(async () => { Interlocked.Increment(ref calls); await release.Task; return 7; }).Backend(_fx.Backend);

        var tasks = Enumerable.Range(0, 100).Select(_ => f.Invoke()).ToArray();
        release.SetResult();

        Assert.All(await Task.WhenAll(tasks), v => Assert.Equal(7, v));
        Assert.Equal(1, calls);
        Assert.Same(f.Invoke(), f.Invoke()); // a hit hands out the entry's completed task
    }

    [Fact]
    public void Ttl_ReturnsNewWrapper_OriginalKeepsItsSettings()
    {
        var calls = 0;
        var original = Cachify.Wrap((int x) => ++calls + (x * 0)).Backend(_fx.Backend);
        var shortLived = original.Ttl(TimeSpan.FromSeconds(10));

        Assert.NotSame(original, shortLived);
        shortLived.Invoke(1);
        original.Invoke(2);
        _fx.Advance(TimeSpan.FromSeconds(11));

        shortLived.Invoke(1); // expired after 10 s: runs again
        original.Invoke(2);   // 300 s default: still cached
        Assert.Equal(3, calls);
    }

    [Fact]
    public void Ttl_EntryExpiresExactlyAtTtl()
    {
        var calls = 0;
        var f = Cachify.Wrap((int x) => ++calls).Ttl(TimeSpan.FromSeconds(5)).Backend(_fx.Backend);

        f.Invoke(1);
        _fx.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromTicks(1));
        Assert.Equal(1, f.Invoke(1));
        _fx.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(2, f.Invoke(1));
    }

    [Fact]
    public void Ttl_Infinite_NeverExpires()
    {
        var calls = 0;
        var f = Cachify.Wrap((int x) => ++calls).Ttl(Timeout.InfiniteTimeSpan).Backend(_fx.Backend);

        f.Invoke(1);
        _fx.Advance(TimeSpan.FromDays(1000));
        Assert.Equal(1, f.Invoke(1));
        Assert.Equal(0, _fx.ScheduledEntries);
    }

    [Trait("Category", "Reliability")]
    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(-10_000_000L)]
    public void Ttl_NotPositive_ThrowsNamingTtl(long ticks)
    {
        var f = Cachify.Wrap((int x) => x);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => f.Ttl(TimeSpan.FromTicks(ticks)));
        Assert.Equal("ttl", error.ParamName);
        Assert.Contains("positive", error.Message, StringComparison.Ordinal);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void Ttl_OverOneYearOrMax_Throws()
    {
        var f = Cachify.Wrap((int x) => x);
        Assert.Throws<ArgumentOutOfRangeException>(() => f.Ttl(TimeSpan.FromDays(366)));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => f.Ttl(TimeSpan.MaxValue));
        Assert.Contains("InfiniteTimeSpan", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Clear_DropsTheScheduledExpiriesOfThatFunctionOnly()
    {
        // What Clear removes is proved by the conformance suite (MemoryConformanceTests); here, that the memory
        // backend's scheduled expiries of the cleared entries go with them and the others' stay.
        var f = Cachify.Wrap((int x) => x).Backend(_fx.Backend);
        var other = Cachify.Wrap((int x) => -x).Backend(_fx.Backend);
        f.Invoke(1);
        f.Invoke(2);
        other.Invoke(1);
        Assert.Equal(3, _fx.ScheduledEntries);

        f.Clear();

        Assert.Equal(1, _fx.ScheduledEntries);
        f.Invoke(1);
        Assert.Equal(2, _fx.ScheduledEntries);
    }

    [Trait("Category", "Reliability")]
    [Theory]
    [InlineData("Invalidate")]
    [InlineData("Clear")]
    public void InvalidateOrClear_WhileTheOwnerStores_ItsValueIsNotServedAfterTheyReturn(string operation)
    {
        using var race = new StoreRace();
        var calls = 0;
        var f = Cachify.Wrap((int x) =>
        {
            var n = Interlocked.Increment(ref calls);
            if (n == 1)
            {
                race.PauseOwner(alsoAfterInsert: true);
            }

            return n;
        }).Ttl(TimeSpan.FromSeconds(10)).Backend(race.Backend);

        var owned = 0;
        var owner = new RaceThread(() => owned = f.Invoke(1));
        Bounded.Wait(race.AtStore, "the owner is about to store");  // computed, checked, about to store
        var remover = new RaceThread(() => Remove(f, operation));
        remover.UntilBlockedOrDone();                                 // it returns, or waits for the store to end
        race.Continue();
        Bounded.Wait(race.Inserted, "the owner's value is in the front"); // the owner stops again
        remover.Join();

        Assert.Equal(2, f.Invoke(1));                                 // 1 was computed before the removal returned
        race.ContinueAfterInsert();
        owner.Join();
        Assert.Equal(1, owned);
        Assert.Equal(2, f.Invoke(1));
    }

    [Trait("Category", "Reliability")]
    [Theory]
    [InlineData("Invalidate")]
    [InlineData("Clear")]
    public void InvalidateOrClear_WhileTheOwnerStores_TheLateStoreNeverReplacesANewerValue(string operation)
    {
        using var race = new StoreRace();
        var calls = 0;
        var f = Cachify.Wrap((int x) =>
        {
            var n = Interlocked.Increment(ref calls);
            if (n == 1)
            {
                race.PauseOwner(alsoAfterInsert: false);
            }

            return n;
        }).Ttl(TimeSpan.FromSeconds(10)).Backend(race.Backend);

        var owned = 0;
        var next = 0;
        var owner = new RaceThread(() => owned = f.Invoke(1));
        Bounded.Wait(race.AtStore, "the owner is about to store");
        var remover = new RaceThread(() => Remove(f, operation));
        var nextCaller = new RaceThread(() =>
        {
            remover.Join();
            next = f.Invoke(1);                                       // after the removal: a new execution
        });

        // Without the store lock the removal returns at once and the next caller stores 2 before the owner goes on.
        Bounded.Until(() => !nextCaller.IsAlive || remover.IsBlocked, "the next caller stored, or the removal waits for the owner");
        race.Continue();
        owner.Join();
        nextCaller.Join();

        Assert.Equal(1, owned);
        Assert.Equal(2, next);
        Assert.Equal(2, f.Invoke(1));                                 // the newer value stays cached
        Assert.Equal(2, calls);
    }

    private static void Remove(CachedFunc<int, int> f, string operation)
    {
        if (operation == "Invalidate")
        {
            f.Invalidate(1);
        }
        else
        {
            f.Clear();
        }
    }

    [Fact]
    public void AsFunc_ReturnsSameCachedDelegate_AndImplicitConversionUsesIt()
    {
        var calls = 0;
        var f = Cachify.Wrap((int x) => { calls++; return x; }).Backend(_fx.Backend);

        Func<int, int> plain = f;
        Assert.Same(f.AsFunc(), plain);
        Assert.Equal(5, plain(5));
        Assert.Equal(5, f.Invoke(5));
        Assert.Equal(1, calls);

        CachedFunc<int, int>? none = null;
        Func<int, int>? converted = none;
        Assert.Null(converted);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void Wrap_CachedFunctionAsDelegate_Throws()
    {
        var f = Cachify.Wrap((int x) => x);
        var error = Assert.Throws<ArgumentException>(() => Cachify.Wrap(f.AsFunc()));
        Assert.Contains("already a Cachify cached function", error.Message, StringComparison.Ordinal);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void Wrap_MulticastDelegate_Throws()
    {
        Func<int, int> a = x => x;
        Func<int, int> b = x => -x;
        var error = Assert.Throws<ArgumentException>(() => Cachify.Wrap((Func<int, int>)Delegate.Combine(a, b)!));
        Assert.Equal("func", error.ParamName);
    }

    [Trait("Category", "Reliability")]
    [Theory]
    [InlineData("Task", "Task<TResult>")]
    [InlineData("Task<T>", "Cachify.Wrap<int, User>")]
    [InlineData("ValueTask", "Task<TResult>")]
    [InlineData("ValueTask<T>", ".AsTask()")]
    public void Wrap_NoArgumentFunctionReturningATask_ThrowsNamingFuncAndTheFix(string result, string fix)
    {
        Action wrap = result switch
        {
            "Task" => () => Cachify.Wrap(() => Task.CompletedTask),
            "Task<T>" => () => Cachify.Wrap<Task<int>>(() => Task.FromResult(1)),
            "ValueTask" => () => Cachify.Wrap(() => ValueTask.CompletedTask),
            _ => () => Cachify.Wrap(() => ValueTask.FromResult(1)),
        };

        var error = Assert.Throws<ArgumentException>(wrap);
        Assert.Equal("func", error.ParamName);
        Assert.Contains("returns " + result.Replace("<T>", "<Int32>", StringComparison.Ordinal), error.Message, StringComparison.Ordinal);
        Assert.Contains(fix, error.Message, StringComparison.Ordinal);
    }

    [Trait("Category", "Reliability")]
    [Theory]
    [InlineData("Task", "Task<TResult>")]
    [InlineData("Task<T>", "Cachify.Wrap<int, User>")]
    [InlineData("ValueTask", "Task<TResult>")]
    [InlineData("ValueTask<T>", "async id => await")]
    public void Wrap_OneArgumentFunctionReturningATask_ThrowsNamingFuncAndTheFix(string result, string fix)
    {
        using var provider = new ServiceCollection().AddCachify().BuildServiceProvider();
        var cachify = provider.GetRequiredService<ICachify>();
        static async ValueTask<int> LoadAsync(int id)
        {
            await Task.Yield();
            return id;
        }

        // The lambda returning ValueTask<int> binds to the synchronous overload: there is none for ValueTask.
        (Action Static, Action Injected) wrap = result switch
        {
            "Task" => (() => Cachify.Wrap((int id) => Task.CompletedTask), () => cachify.Wrap((int id) => Task.CompletedTask)),
            "Task<T>" => (() => Cachify.Wrap<int, Task<int>>(id => Task.FromResult(id)), () => cachify.Wrap<int, Task<int>>(id => Task.FromResult(id))),
            "ValueTask" => (() => Cachify.Wrap((int id) => ValueTask.CompletedTask), () => cachify.Wrap((int id) => ValueTask.CompletedTask)),
            _ => (() => Cachify.Wrap((int id) => LoadAsync(id)), () => cachify.Wrap((int id) => LoadAsync(id))),
        };

        foreach (var attempt in new[] { wrap.Static, wrap.Injected })
        {
            var error = Assert.Throws<ArgumentException>(attempt);
            Assert.Equal("func", error.ParamName);
            Assert.Contains("returns " + result.Replace("<T>", "<Int32>", StringComparison.Ordinal), error.Message, StringComparison.Ordinal);
            Assert.Contains(fix, error.Message, StringComparison.Ordinal);
        }
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void Wrap_Null_ThrowsNamingFunc()
    {
        Assert.Equal("func", Assert.Throws<ArgumentNullException>(() => Cachify.Wrap((Func<int, int>)null!)).ParamName);
        Assert.Equal("func", Assert.Throws<ArgumentNullException>(() => Cachify.Wrap((Func<int, Task<int>>)null!)).ParamName);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void Backend_Null_Throws()
    {
        Assert.Equal("backend", Assert.Throws<ArgumentNullException>(() => Cachify.Wrap((int x) => x).Backend((ICacheBackend)null!)).ParamName);
        Assert.Equal("backend", Assert.Throws<ArgumentNullException>(() => Cachify.Wrap((int x) => x).Backend((Func<ICacheBackend>)null!)).ParamName);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void Backend_Disposed_CallsThrowObjectDisposed()
    {
        var backend = new MemoryCacheBackend();
        backend.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Cachify.Wrap((int x) => x).Backend(backend));
    }

    [Fact]
    public void Wrap_DelegateOfDelegateInvoke_HasTheInnerIdentity()
    {
        var calls = 0;
        Func<int, int> inner = x => { calls++; return x; };
        var outer = new Func<int, int>(inner.Invoke);
        var a = Cachify.Wrap(inner).Backend(_fx.Backend);
        var b = Cachify.Wrap(outer).Backend(_fx.Backend);

        a.Invoke(1);
        b.Invoke(1);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void BackendFunction_IsCalledAtTheFirstCall_NotWhenWrapped()
    {
        var calls = 0;
        var resolved = 0;
        MemoryCacheBackend? current = null;
        Func<int, int> func = x => Interlocked.Increment(ref calls) * 0 + x;

        // Made before its backend exists (as in a static field), with options before and after.
        var f = Cachify.Wrap(func).Named("backend.func.first").Backend(() => { resolved++; return current!; }).NoSelf();
        Assert.Equal(0, resolved);

        current = _fx.Backend;
        Assert.Equal(5, f.Invoke(5));
        Assert.Equal(5, f.Invoke(5));
        Assert.Equal(1, resolved);
        Assert.Equal(1, calls);

        // The entry is in the backend the function returned: a wrapper given that backend explicitly reads it.
        Assert.Equal(5, Cachify.Wrap(func).Named("backend.func.first").NoSelf().Backend(_fx.Backend).Invoke(5));
        Assert.Equal(1, calls);
    }

    [Fact]
    public void BackendFunction_AfterTheBackendItReturnedIsDisposed_IsCalledAgain()
    {
        var calls = 0;
        var resolved = 0;
        var first = new MemoryCacheBackend();
        using var second = new MemoryCacheBackend();
        var current = first;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref calls)).NoSelf().Backend(() => { resolved++; return current; });

        Assert.Equal(1, f.Invoke(1));
        Assert.Equal(1, f.Invoke(1));
        Assert.Equal(1, resolved);

        first.Dispose();
        current = second;
        Assert.Equal(2, f.Invoke(1));
        Assert.Equal(2, f.Invoke(1));
        Assert.Equal(2, resolved);
        Assert.Same(((ICacheBackend)second).Services, f.CurrentBinding!.Keyspace.Services);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void BackendFunction_ReturningNull_FirstCallThrowsNamingTheFix_AndALaterBackendIsUsed()
    {
        MemoryCacheBackend? current = null;
        var f = Cachify.Wrap((int x) => x + 1).NoSelf().Backend(() => current!);

        var error = Assert.Throws<InvalidOperationException>(() => f.Invoke(1));
        Assert.Contains("Backend(Func<ICacheBackend>) returned null", error.Message, StringComparison.Ordinal);
        Assert.Contains("Return the backend to use", error.Message, StringComparison.Ordinal);

        current = _fx.Backend;
        Assert.Equal(2, f.Invoke(1));
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void BackendFunction_Throwing_FirstCallThrowsItsException()
    {
        var f = Cachify.Wrap((int x) => x).NoSelf().Backend(() => throw new InvalidOperationException("Call MyStore.Configure() at startup."));
        Assert.Equal("Call MyStore.Configure() at startup.", Assert.Throws<InvalidOperationException>(() => f.Invoke(1)).Message);
    }

    [Fact]
    public void BackendFunction_ReplacesAnExplicitBackend_AndAnExplicitBackendAfterwardsWins()
    {
        using var other = new MemoryCacheBackend();
        var resolved = 0;
        Func<ICacheBackend> pick = () => { resolved++; return _fx.Backend; };

        var replaced = Cachify.Wrap((int x) => x).NoSelf().Backend(other).Backend(pick);
        replaced.Invoke(1);
        Assert.Equal(1, resolved);
        Assert.Same(_fx.Services, replaced.CurrentBinding!.Keyspace.Services);

        var overridden = Cachify.Wrap((int x) => x).NoSelf().Backend(pick).Backend(other);
        overridden.Invoke(1);
        Assert.Equal(1, resolved);
        Assert.Same(((ICacheBackend)other).Services, overridden.CurrentBinding!.Keyspace.Services);
    }

    [Fact]
    public void BackendFunction_KeepsTheDefaultTtlOfTheInjectedCachify()
    {
        using var injectedBackend = new MemoryCacheBackend();
        var cachify = new FixedCachify(TimeSpan.FromSeconds(42), injectedBackend);
        var calls = 0;
        var f = cachify.Wrap((int x) => Interlocked.Increment(ref calls)).NoSelf().Backend(() => _fx.Backend);

        Assert.Equal(1, f.Invoke(1));
        _fx.Advance(TimeSpan.FromSeconds(41));
        Assert.Equal(1, f.Invoke(1));
        _fx.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(2, f.Invoke(1));
        Assert.Same(_fx.Services, f.CurrentBinding!.Keyspace.Services);
    }

    private sealed class FixedCachify(TimeSpan ttl, ICacheBackend backend) : ICachify
    {
        public TimeSpan DefaultTtl => ttl;

        public ICacheBackend Backend => backend;
    }
}
