using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace CachifyNet.WebApi.Tests;

/// <summary>
/// The catalog (EF Core on SQLite, a scoped DbContext) cached through AddCachedFunc, in memory and on Redis: each
/// test has its own database file, its own app and a fake clock; the app's QueryCounter counts the SQL it sends.
/// </summary>
public sealed class CatalogTests(WebApplicationFactory<Program> factory) : IClassFixture<WebApplicationFactory<Program>>, IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("cachify-webapi-");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly LogCollector _logs = new();

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Delete(recursive: true);
    }

    [Fact]
    public async Task Catalog_ManyRequests_OneQueryPerPage()
    {
        const int Requests = 20;
        var app = App();
        using var client = app.CreateClient();
        var queries = app.Services.GetRequiredService<QueryCounter>();
        var before = queries.Queries;

        for (var i = 0; i < Requests; i++)
        {
            var page = await client.GetFromJsonAsync<CatalogPage>("/catalog/1");
            Assert.Equal(10, page!.Items.Count);
        }

        var concurrent = await Task.WhenAll(Enumerable.Range(0, Requests).Select(_ => client.GetFromJsonAsync<CatalogPage>("/catalog/2"))).Within("the concurrent requests");
        Assert.All(concurrent, p => Assert.Equal(11, p!.Items[0].Id));

        Console.WriteLine($"Catalog (memory): {queries.Queries - before} queries for {2 * Requests} requests of 2 pages.");
        Assert.Equal(2, queries.Queries - before);
        Assert.Empty(_logs.Errors);
    }

    [Fact]
    public async Task Catalog_NeverDieRefresh_ReadsTheDatabaseWithItsOwnDbContext()
    {
        var app = App();
        using var client = app.CreateClient();
        var queries = app.Services.GetRequiredService<QueryCounter>();
        var before = queries.Queries;
        Assert.Equal("Product 1", (await client.GetFromJsonAsync<CatalogPage>("/catalog/1"))!.Items[0].Name);

        // A change the cache does not hear of (another process); the never-die refresh at the TTL reads it.
        using (var scope = app.Services.CreateScope())
        {
            await scope.ServiceProvider.GetRequiredService<CatalogDb>().Products.Where(p => p.Id == 1)
                .ExecuteUpdateAsync(s => s.SetProperty(p => p.Name, "Renamed"));
        }

        Assert.Equal("Product 1", (await client.GetFromJsonAsync<CatalogPage>("/catalog/1"))!.Items[0].Name); // still cached
        for (var refresh = 1; refresh <= 3; refresh++)
        {
            using var refreshed = new JoinCounter("catalog.page", 1, "cachify.refresh.successes");
            _clock.Advance(TimeSpan.FromMinutes(1));
            await refreshed.Reached.Within($"refresh {refresh} succeeded");
        }

        Assert.Equal("Renamed", (await client.GetFromJsonAsync<CatalogPage>("/catalog/1"))!.Items[0].Name);
        Console.WriteLine($"Catalog (never-die): {queries.Queries - before} queries (1 read, 3 refreshes; 3 requests served from the cache; the update is not a query).");
        Assert.Equal(4, queries.Queries - before);
        Assert.DoesNotContain(_logs.All, e => e.Contains(nameof(ObjectDisposedException), StringComparison.Ordinal));
        Assert.Empty(_logs.Errors);
    }

    [Fact]
    public async Task Catalog_CallerCancelsWhileAnotherJoined_TheOtherGetsThePage()
    {
        var app = App();
        using var client = app.CreateClient();
        var queries = app.Services.GetRequiredService<QueryCounter>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        queries.Waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        queries.Gate = gate.Task;
        var before = queries.Queries;
        using var joins = new JoinCounter("catalog.page", 1);

        using var cancel = new CancellationTokenSource();
        var first = client.GetAsync("/catalog/3", cancel.Token);
        await queries.Waiting.Task.Within("the first request's query started");
        var second = client.GetFromJsonAsync<CatalogPage>("/catalog/3");
        await joins.Reached.Within("the second request joined the running execution");

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.Within("the cancelled request ended"));
        gate.SetResult();

        var page = await second.Within("the joined request got the page");
        Assert.Equal(21, page!.Items[0].Id);
        Assert.Equal(1, queries.Queries - before);
        Assert.DoesNotContain(_logs.All, e => e.Contains(nameof(ObjectDisposedException), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Catalog_Write_InvalidatesTheCachedPages()
    {
        var app = App();
        using var client = app.CreateClient();
        var queries = app.Services.GetRequiredService<QueryCounter>();
        Assert.Equal(5, (await client.GetFromJsonAsync<CatalogPage>("/catalog/3"))!.Items.Count);

        using var created = await client.PostAsJsonAsync("/catalog/products", new NewProduct("New", 9.99m));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var before = queries.Queries;

        var page = await client.GetFromJsonAsync<CatalogPage>("/catalog/3");
        Assert.Equal(6, page!.Items.Count);
        Assert.Equal("New", page.Items[^1].Name);
        Assert.Equal(1, queries.Queries - before);
    }

    [Trait("Category", "Redis")]
    [Fact]
    public async Task Catalog_OnRedis_TwoAppInstancesShareOneQuery()
    {
        using var redis = new LocalRedisServer("cachify-webapi-redis-");
        var first = App(redis.EndPoint);
        var second = App(redis.EndPoint);
        using var firstClient = first.CreateClient();
        using var secondClient = second.CreateClient();
        var q1 = first.Services.GetRequiredService<QueryCounter>();
        var q2 = second.Services.GetRequiredService<QueryCounter>();
        var before = q1.Queries + q2.Queries;

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(10, (await firstClient.GetFromJsonAsync<CatalogPage>("/catalog/1"))!.Items.Count);
            Assert.Equal("Product 1", (await secondClient.GetFromJsonAsync<CatalogPage>("/catalog/1"))!.Items[0].Name);
        }

        Console.WriteLine($"Catalog (Redis, 2 app instances): {q1.Queries + q2.Queries - before} queries for 20 requests.");
        Assert.Equal(1, q1.Queries + q2.Queries - before);

        // A write through one instance clears the pages for both.
        using var created = await secondClient.PostAsJsonAsync("/catalog/products", new NewProduct("New", 1m));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(6, (await firstClient.GetFromJsonAsync<CatalogPage>("/catalog/3"))!.Items.Count);
        Assert.Empty(_logs.Errors);
    }

    /// <summary>The app on its own database file (and Redis when <paramref name="redis"/> is set), on the fake clock.</summary>
    private WebApplicationFactory<Program> App(string? redis = null)
        => factory.WithWebHostBuilder(web =>
        {
            web.UseSetting("ConnectionStrings:Catalog", $"Data Source={Path.Combine(_directory.FullName, "catalog.db")}");
            if (redis is not null)
            {
                web.UseSetting("Cachify:Backend", "Redis").UseSetting("Cachify:Redis", redis);
            }

            web.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(_clock).AddSingleton<ILoggerProvider>(_logs));
        });

    /// <summary>Keeps every log line (with its exception) the app writes.</summary>
    private sealed class LogCollector : ILoggerProvider, ILogger
    {
        private readonly ConcurrentQueue<(LogLevel Level, string Text)> _entries = new();

        public IEnumerable<string> All => _entries.Select(e => e.Text);

        public IEnumerable<string> Errors => _entries.Where(e => e.Level >= LogLevel.Error).Select(e => e.Text);

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                _entries.Enqueue((logLevel, formatter(state, exception) + " " + exception));
            }
        }

        public void Dispose()
        {
        }
    }
}
