using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CachifyNet.Tests;

/// <summary>AddCachedFunc: a singleton cached function whose every execution resolves the service from its own scope.</summary>
/// <remarks>
/// Not in parallel with other classes: <see cref="AddCachedFunc_Hit_AllocatesNothing"/> counts this thread's allocations,
/// and a metrics listener of another test (TelemetryTests' collectors listen to every "Cachify" instrument, on every
/// thread) records each hit here, allocating 88 B per hit on this thread (a clean-clone CI run showed it).
/// </remarks>
[Collection(nameof(Reliability.MemoryMeasurements))]
public class CachedFuncServiceCollectionExtensionsTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);

    /// <summary>A scoped service that counts its instances, knows when it is disposed and refuses to work after.</summary>
    public sealed class Catalog(Counters counters) : IAsyncDisposable
    {
        private bool _disposed;

        public TaskCompletionSource? Gate { get; set; }

        public async Task<string> GetPageAsync(int page, CancellationToken cancellationToken)
        {
            counters.Executions++;
            if (counters.Gate is { } gate)
            {
                counters.Entered.TrySetResult();
                await gate.Task.WaitAsync(cancellationToken);
            }

            ObjectDisposedException.ThrowIf(_disposed, this);
            return $"page {page} #{counters.Executions}";
        }

        public ValueTask DisposeAsync()
        {
            _disposed = true;
            counters.Disposed++;
            return ValueTask.CompletedTask;
        }
    }

    public sealed class Counters
    {
        public int Executions;
        public int Disposed;
        public TaskCompletionSource? Gate;
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static ServiceProvider Build(FakeTimeProvider time, Counters counters, Func<CancellableAsyncCachedFunc<int, string>, CancellableAsyncCachedFunc<int, string>>? configure = null)
        => new ServiceCollection()
            .AddSingleton<TimeProvider>(time)
            .AddSingleton(counters)
            .AddScoped<Catalog>()
            .AddCachify(o => o.DefaultTtl = Ttl)
            .AddCachedFunc<Catalog, int, string>((svc, page, ct) => svc.GetPageAsync(page, ct), configure)
            .BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });

    [Fact]
    public async Task AddCachedFunc_ManyCallers_OneExecutionInItsOwnScope()
    {
        var counters = new Counters();
        await using var provider = Build(new FakeTimeProvider(), counters);
        var catalog = provider.GetRequiredService<CancellableAsyncCachedFunc<int, string>>();

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("page 1 #1", await catalog.Invoke(1, CancellationToken.None));
        }

        Assert.Same(catalog, provider.GetRequiredService<CancellableAsyncCachedFunc<int, string>>()); // a singleton
        Assert.Equal(1, counters.Executions);
        Assert.Equal(1, counters.Disposed); // the execution's scope ended with it

        Assert.Equal("page 1 #2", await catalog.Invoke(1, skipCache: true, CancellationToken.None));
        Assert.Equal(2, counters.Disposed);
    }

    [Fact]
    public async Task AddCachedFunc_Hit_AllocatesNothing()
    {
        var counters = new Counters();
        await using var provider = Build(new FakeTimeProvider(), counters);
        var catalog = provider.GetRequiredService<CancellableAsyncCachedFunc<int, string>>();
        await catalog.Invoke(1, CancellationToken.None);
        await catalog.Invoke(1, CancellationToken.None); // the first hit makes the completed task every later hit returns

        var completed = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            completed += catalog.Invoke(1, CancellationToken.None).IsCompletedSuccessfully ? 1 : 0; // a hit completes at once
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Console.WriteLine($"AddCachedFunc hit: {allocated} bytes for 1000 hits.");
        Assert.Equal(1000, completed);
        Assert.Equal(0, allocated);
        Assert.Equal(1, counters.Executions);
    }

    [Fact]
    public async Task AddCachedFunc_NeverDieRefresh_UsesAFreshScope()
    {
        var time = new FakeTimeProvider();
        var counters = new Counters();
        await using var provider = Build(time, counters, o => o.NeverDie());
        var catalog = provider.GetRequiredService<CancellableAsyncCachedFunc<int, string>>();
        Assert.Equal("page 1 #1", await catalog.Invoke(1, CancellationToken.None));

        for (var i = 2; i <= 4; i++)
        {
            time.Advance(Ttl);
            await ((ICacheBackend)provider.GetRequiredService<ICacheBackend>()).Services.WhenIdle().WaitAsync(Bounded.Deadline);
            Assert.Equal($"page 1 #{i}", await catalog.Invoke(1, CancellationToken.None)); // each refresh read with a live service
        }

        Assert.Equal(4, counters.Disposed);
    }

    [Fact]
    public async Task AddCachedFunc_CallerCancelsWhileAnotherJoined_SharedExecutionKeepsItsScope()
    {
        var counters = new Counters { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var provider = Build(new FakeTimeProvider(), counters);
        var catalog = provider.GetRequiredService<CancellableAsyncCachedFunc<int, string>>();

        using var first = new CancellationTokenSource();
        var a = catalog.Invoke(7, first.Token);
        await counters.Entered.Task.Within("the execution started");
        var b = catalog.Invoke(7, CancellationToken.None);

        await first.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => a.Within("the cancelled caller returned"));
        Assert.Equal(0, counters.Disposed); // the execution's scope is not the caller's

        counters.Gate.SetResult();
        Assert.Equal("page 7 #1", await b.Within("the joined caller got the value"));
        Assert.Equal(1, counters.Executions);
        Assert.Equal(1, counters.Disposed);
    }

    [Fact]
    public void AddCachedFunc_NamesTheFunctionAfterTheServiceMethod()
    {
        Assert.Equal("Catalog.GetPageAsync", CachedFuncServiceCollectionExtensions.DefaultName<Catalog>("(svc, page, ct) => svc.GetPageAsync(page, ct)"));
        Assert.Equal("Catalog.GetPageAsync", CachedFuncServiceCollectionExtensions.DefaultName<Catalog>("async (s, p, ct) => await s.GetPageAsync(p, ct)"));
        Assert.Equal("Catalog", CachedFuncServiceCollectionExtensions.DefaultName<Catalog>("(s, p, ct) => { return s.GetPageAsync(p, ct); }"));
    }

    [Fact]
    public void AddCachedFunc_SameTypeTwice_ThrowsAtRegistration()
    {
        var services = new ServiceCollection().AddCachify().AddCachedFunc<Catalog, int, string>((svc, page, ct) => svc.GetPageAsync(page, ct));
        var error = Assert.Throws<InvalidOperationException>(() => services.AddCachedFunc<Catalog, int, string>((svc, page, ct) => svc.GetPageAsync(page + 1, ct)));
        Assert.Contains("already registered", error.Message, StringComparison.Ordinal);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public async Task AddCachedFunc_RefusedConfiguration_FailsTheHostStart()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<Counters>().AddScoped<Catalog>().AddCachify()
            .AddCachedFunc<Catalog, int, string>((svc, page, ct) => svc.GetPageAsync(page, ct), o => o.IgnoreArgs("pageNumber"));
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Catalog, Int32, String>((svc, page, ct) => svc.GetPageAsync(page, ct)) is refused: 'pageNumber' is not a parameter of Catalog.GetPageAsync", error.Message, StringComparison.Ordinal);
        Assert.Contains("pageNumber", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(".Backend(", error.Message, StringComparison.Ordinal);
    }
}
