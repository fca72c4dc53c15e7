namespace CachifyNet.Tests;

public class AsyncCachedFuncTests : IDisposable
{
    private readonly MemoryFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public async Task Invoke_Hit_ReturnsTheSameCompletedTask()
    {
        var f = Cachify.Wrap((int x) => Task.FromResult(new object())).Backend(_fx.Backend);
        await f.Invoke(1);

        var first = f.Invoke(1);
        var second = f.Invoke(1);
        Assert.True(first.IsCompletedSuccessfully);
        Assert.Same(first, second);
    }

    [Fact]
    public async Task Ttl_ReturnsNewWrapper_OriginalKeepsItsSettings()
    {
        var calls = 0;
        var original = Cachify.Wrap((int x) => Task.FromResult(++calls)).Backend(_fx.Backend);
        var shortLived = original.Ttl(TimeSpan.FromSeconds(10));

        await shortLived.Invoke(1);
        await original.Invoke(2);
        _fx.Advance(TimeSpan.FromSeconds(11));
        await shortLived.Invoke(1);
        await original.Invoke(2);
        Assert.Equal(3, calls);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public async Task Invoke_ThrowsSynchronously_IsReportedThroughTheTask()
    {
        var f = Cachify.Wrap((int x) => x > 0 ? throw new ArgumentOutOfRangeException(nameof(x)) : Task.FromResult(x)).Backend(_fx.Backend);

        var task = f.Invoke(1);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => task);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public async Task Invoke_FirstCallAfterItsExplicitBackendWasDisposed_IsReportedThroughTheTask()
    {
        var fx = new MemoryFixture();
        var f = Cachify.Wrap((int x) => Task.FromResult(x)).Backend(fx.Backend);
        var keyed = Cachify.Wrap((int x) => Task.FromResult(x)).KeyBy(x => "k" + x).Backend(fx.Backend);
        fx.Dispose();

        // Bound lazily now, at the first call: binding to the disposed backend fails, through the task as any other error.
        var task = f.Invoke(1);
        var keyedTask = keyed.Invoke(1);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => task);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => keyedTask);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public async Task Invoke_ReturnsNullTask_ThrowsClearError()
    {
        var f = Cachify.Wrap((int x) => (Task<int>)null!).Backend(_fx.Backend);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => f.Invoke(1));
        Assert.Contains("null Task", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidateAndClear_SyncFormsOnAnAsyncWrapper_RemoveEntries()
    {
        // InvalidateAsync and ClearAsync are proved by the conformance suite (MemoryConformanceTests); here the
        // synchronous forms on an async wrapper.
        var calls = 0;
        var f = Cachify.Wrap((int x) => Task.FromResult(Interlocked.Increment(ref calls))).Backend(_fx.Backend);
        Assert.Equal(1, await f.Invoke(1));
        Assert.Equal(2, await f.Invoke(2));

        f.Invalidate(1);
        Assert.Equal(3, await f.Invoke(1));
        Assert.Equal(2, await f.Invoke(2));

        f.Clear();
        Assert.Equal(4, await f.Invoke(2));
    }

    [Trait("Category", "Reliability")]
    [Theory]
    [InlineData("Invalidate")]
    [InlineData("Clear")]
    public async Task InvalidateOrClear_WhileTheOwnerStores_ItsValueIsNotServedAfterTheyReturn(string operation)
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

            return Task.FromResult(n);
        }).Ttl(TimeSpan.FromSeconds(10)).Backend(race.Backend);

        // The task is complete when the function returns, so the owner stores on the calling thread, inside Invoke.
        Task<int>? owned = null;
        var owner = new RaceThread(() => owned = f.Invoke(1));
        Bounded.Wait(race.AtStore, "the owner is about to store");
        var remover = new RaceThread(() =>
        {
            if (operation == "Invalidate")
            {
                f.InvalidateAsync(1).AsTask().GetAwaiter().GetResult();
            }
            else
            {
                f.ClearAsync().AsTask().GetAwaiter().GetResult();
            }
        });
        remover.UntilBlockedOrDone();
        race.Continue();
        Bounded.Wait(race.Inserted, "the owner's value is in the front");
        remover.Join();

        Assert.Equal(2, await f.Invoke(1));                           // 1 was computed before the removal returned
        race.ContinueAfterInsert();
        owner.Join();
        Assert.Equal(1, await owned!);
        Assert.Equal(2, await f.Invoke(1));
    }

    [Trait("Category", "Reliability")]
    [Theory]
    [InlineData("AsTask")]
    [InlineData("async")]
    public async Task Wrap_ValueTaskFunctionConvertedAsTheWrapErrorSays_FaultIsNotCached(string conversion)
    {
        var calls = 0;
        async ValueTask<int> LoadAsync(int id)
        {
            await Task.Yield();
            if (Interlocked.Increment(ref calls) == 1)
            {
                throw new InvalidOperationException("db down");
            }

            return id;
        }

        var f = conversion == "AsTask"
            ? Cachify.Wrap((int id) => LoadAsync(id).AsTask()).Backend(_fx.Backend)
            : Cachify.Wrap(async (int id) => await LoadAsync(id)).Backend(_fx.Backend);

        await Assert.ThrowsAsync<InvalidOperationException>(() => f.Invoke(1));
        Assert.Equal(1, await f.Invoke(1));                           // exceptions are never cached
        Assert.Equal(1, await f.Invoke(1));
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task AsFunc_ReturnsSameCachedDelegate()
    {
        var calls = 0;
        var f = Cachify.Wrap((int x) => { calls++; return Task.FromResult(x); }).Backend(_fx.Backend);

        Func<int, Task<int>> plain = f;
        Assert.Same(f.AsFunc(), plain);
        Assert.Equal(5, await plain(5));
        Assert.Equal(5, await f.Invoke(5));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Invoke_CancelledBeforeCall_ThrowsWithoutRunning()
    {
        var calls = 0;
        var f = Cachify.Wrap((int x) => Task.FromResult(++calls)).Backend(_fx.Backend);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => f.Invoke(1, cancellationToken: cts.Token));
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task BackendFunction_IsCalledAtTheFirstCall_NotWhenWrapped()
    {
        var calls = 0;
        var resolved = 0;
        MemoryCacheBackend? current = null;
        var f = Cachify.Wrap((int x) => Task.FromResult(Interlocked.Increment(ref calls) * 0 + x)).Backend(() => { resolved++; return current!; }).NoSelf();
        Assert.Equal(0, resolved);

        current = _fx.Backend;
        Assert.Equal(5, await f.Invoke(5));
        Assert.Equal(5, await f.Invoke(5));
        Assert.Equal(1, resolved);
        Assert.Equal(1, calls);
        Assert.Same(_fx.Services, f.CurrentBinding!.Keyspace.Services);
    }

    [Fact]
    public async Task BackendFunction_AfterTheBackendItReturnedIsDisposed_IsCalledAgain()
    {
        var calls = 0;
        var resolved = 0;
        var first = new MemoryCacheBackend();
        using var second = new MemoryCacheBackend();
        var current = first;
        var f = Cachify.Wrap((int x) => Task.FromResult(Interlocked.Increment(ref calls))).NoSelf().Backend(() => { resolved++; return current; });

        Assert.Equal(1, await f.Invoke(1));
        Assert.Equal(1, await f.Invoke(1));
        Assert.Equal(1, resolved);

        first.Dispose();
        current = second;
        Assert.Equal(2, await f.Invoke(1));
        Assert.Equal(2, await f.Invoke(1));
        Assert.Equal(2, resolved);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public async Task BackendFunction_ReturningNull_FailsTheTaskNamingTheFix_AndALaterBackendIsUsed()
    {
        MemoryCacheBackend? current = null;
        var f = Cachify.Wrap((int x) => Task.FromResult(x + 1)).NoSelf().Backend(() => current!);

        var task = f.Invoke(1);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => task);
        Assert.Contains("Backend(Func<ICacheBackend>) returned null", error.Message, StringComparison.Ordinal);

        current = _fx.Backend;
        Assert.Equal(2, await f.Invoke(1));
    }
}
