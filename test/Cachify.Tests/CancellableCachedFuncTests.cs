namespace CachifyNet.Tests;

/// <summary>
/// Functions whose last parameter is a <see cref="CancellationToken"/>: their wrappers take the caller's token once
/// (<c>Invoke(key args, skipCache, cancellationToken)</c>), and <c>Invalidate</c> takes the key arguments only.
/// </summary>
[Collection(nameof(GlobalDefaults))]
public class CancellableCachedFuncTests : IDisposable
{
    private readonly MemoryFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public void Wrap_TrailingTokenLambda_PicksTokenOverloads()
    {
        Assert.IsType<CancellableAsyncCachedFunc<int, string>>(Cachify.Wrap((int id, CancellationToken ct) => FindAsync(id, ct)));
        Assert.IsType<CancellableAsyncCachedFunc<string>>(Cachify.Wrap((CancellationToken ct) => FindAsync(0, ct)));
        Assert.IsType<CancellableAsyncCachedFunc<int, string, string>>(Cachify.Wrap((int id, string culture, CancellationToken ct) => FindAsync(id, ct)));
        Assert.IsType<CancellableCachedFunc<int, int>>(Cachify.Wrap((int id, CancellationToken ct) => id));
        Assert.IsType<CancellableCachedFunc<int>>(Cachify.Wrap((CancellationToken ct) => 1));

        // A token in the middle is an ordinary argument (never part of the key, as always).
        Assert.IsType<AsyncCachedFunc<CancellationToken, int, string>>(Cachify.Wrap((CancellationToken ct, int id) => FindAsync(id, ct)));
    }

    [Fact]
    public void Wrap_MethodGroup_TakesTheKeyTypesOnly()
    {
        var f = Cachify.Wrap<int, string>(FindAsync);
        Assert.IsType<CancellableAsyncCachedFunc<int, string>>(f);

        // Spelling the token as a type argument still picks the plain overload of arity 2.
        Assert.IsType<AsyncCachedFunc<int, CancellationToken, string>>(Cachify.Wrap<int, CancellationToken, string>(FindAsync));
    }

    [Fact]
    public async Task Invoke_CallersToken_StopsItsWaitButIsNotTheKey()
    {
        var calls = 0;
        var f = Cachify.Wrap((int id, CancellationToken ct) => { calls++; return FindAsync(id, ct); }).Backend(_fx.Backend);
        using var a = new CancellationTokenSource();
        using var b = new CancellationTokenSource();

        Assert.Equal("1", await f.Invoke(1, a.Token));
        Assert.Equal("1", await f.Invoke(1, b.Token));                        // another token, same key: a hit
        Assert.Equal("1", await f.Invoke(1));
        Assert.Equal(1, calls);

        await a.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => f.Invoke(2, a.Token));    // a cancelled caller does not start work
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Invoke_FunctionGetsTheSharedToken_CancelledWhenTheOnlyCallerCancels()
    {
        var started = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        var f = Cachify.Wrap(async (int id, CancellationToken token) =>
        {
            started.TrySetResult(token);
            await Task.Delay(Timeout.Infinite, token);
            return id;
        }).Backend(_fx.Backend);
        using var caller = new CancellationTokenSource();

        var call = f.Invoke(1, skipCache: false, caller.Token);
        var shared = await started.Task.Within("the function started");
        Assert.NotEqual(caller.Token, shared);                                // the execution's token, not the caller's
        Assert.False(shared.IsCancellationRequested);

        await caller.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.Within("the caller returned"));
        Assert.True(shared.IsCancellationRequested);                          // nobody waits any more: the work is cancelled
    }

    [Fact]
    public async Task Invalidate_TakesTheKeyArgumentsOnly()
    {
        var calls = 0;
        var f = Cachify.Wrap((int id, string culture, CancellationToken ct) => { calls++; return Task.FromResult(culture + id); }).Backend(_fx.Backend);

        Assert.Equal("en1", await f.Invoke(1, "en", CancellationToken.None));
        await f.InvalidateAsync(1, "en");
        Assert.Equal("en1", await f.Invoke(1, "en"));
        f.Invalidate(1, "en");
        Assert.Equal("en1", await f.Invoke(1, "en"));
        Assert.Equal(3, calls);
        Assert.Equal("en1", await f.Invoke(1, "en"));
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task SkipCache_WithToken_RunsAgain()
    {
        var calls = 0;
        var f = Cachify.Wrap((int id, CancellationToken ct) => Task.FromResult(id + Interlocked.Increment(ref calls))).Backend(_fx.Backend);
        using var cts = new CancellationTokenSource();

        Assert.Equal(2, await f.Invoke(1, cts.Token));
        Assert.Equal(3, await f.Invoke(1, skipCache: true, cts.Token));
        Assert.Equal(3, await f.Invoke(1, cts.Token));
    }

    [Fact]
    public void Sync_InvokeTakesTheTokenOnce_InvalidateTheKeyOnly()
    {
        var calls = 0;
        var seen = new List<CancellationToken>();
        var f = Cachify.Wrap((int id, CancellationToken ct) => { calls++; seen.Add(ct); return id * 2; }).Backend(_fx.Backend);
        using var cts = new CancellationTokenSource();

        Assert.Equal(2, f.Invoke(1, cts.Token));
        Assert.Equal(2, f.Invoke(1));
        f.Invalidate(1);
        Assert.Equal(2, f.Invoke(1, skipCache: false, cts.Token));
        Assert.Equal(2, calls);
        Assert.DoesNotContain(cts.Token, seen);                               // the function gets the execution's token
    }

    [Fact]
    public async Task AsFunc_IsTheOriginalDelegateType()
    {
        var calls = 0;
        var f = Cachify.Wrap((int id, CancellationToken ct) => { calls++; return Task.FromResult(id); }).Backend(_fx.Backend);
        Func<int, CancellationToken, Task<int>> plain = f;

        Assert.Same(f.AsFunc(), plain);
        Assert.Equal(4, await plain(4, CancellationToken.None));
        Assert.Equal(4, await f.Invoke(4));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task KeyBy_SeesTheKeyArgumentsOnly()
    {
        var calls = 0;
        var f = Cachify.Wrap((int id, string culture, CancellationToken ct) => { calls++; return Task.FromResult(culture + id); })
            .KeyBy((id, culture) => id.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Backend(_fx.Backend);

        Assert.Equal("en1", await f.Invoke(1, "en"));
        Assert.Equal("en1", await f.Invoke(1, "fr"));                         // same key
        await f.InvalidateAsync(1, "de");
        Assert.Equal("fr1", await f.Invoke(1, "fr"));
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task IgnoreArgs_NamesKeyArguments()
    {
        var calls = 0;
        var f = Cachify.Wrap((int id, string culture, CancellationToken ct) => { calls++; return Task.FromResult(id); })
            .IgnoreArgs("culture").Backend(_fx.Backend);

        Assert.Equal(1, await f.Invoke(1, "en"));
        Assert.Equal(1, await f.Invoke(1, "fr"));
        Assert.Equal(1, calls);
        Assert.Contains("ct", Assert.Throws<ArgumentException>(() => f.IgnoreArgs("culturee")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SharesEntries_WithThePlainWrapperOfTheSameFunction()
    {
        var calls = 0;
        Task<string> Find(int id, CancellationToken ct)
        {
            calls++;
            return FindAsync(id, ct);
        }

        var plain = Cachify.Wrap<int, CancellationToken, string>(Find).Backend(_fx.Backend);
        var cancellable = Cachify.Wrap<int, string>(Find).Backend(_fx.Backend);

        Assert.Equal("7", await plain.Invoke(7, CancellationToken.None));
        Assert.Equal("7", await cancellable.Invoke(7));
        Assert.Equal(1, calls);
        await cancellable.InvalidateAsync(7);
        Assert.Equal("7", await plain.Invoke(7, CancellationToken.None));
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task Invoke_Hit_DoesNotAllocate()
    {
        var f = Cachify.Wrap((int id, CancellationToken ct) => FindAsync(id, ct)).Backend(_fx.Backend);
        using var cts = new CancellationTokenSource();
        for (var i = 0; i < 100; i++)
        {
            await f.Invoke(1, cts.Token);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            var task = f.Invoke(1, cts.Token);
            Assert.True(task.IsCompletedSuccessfully);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static Task<string> FindAsync(int id, CancellationToken ct)
        => ct.IsCancellationRequested ? Task.FromCanceled<string>(ct) : Task.FromResult(id.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
