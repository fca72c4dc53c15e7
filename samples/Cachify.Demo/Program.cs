using System.Diagnostics;
using System.Globalization;
using CachifyNet;
using Microsoft.Extensions.Logging;

namespace CachifyNet.Demo;

/// <summary>
/// A guided tour of Cachify: run it with <c>dotnet run --project samples/Cachify.Demo</c>.
/// Each section prints what happens and how long it takes.
/// </summary>
public static class Program
{
    private static readonly Stopwatch Total = Stopwatch.StartNew();

    /// <summary>Restarted by sections that print a timeline.</summary>
    private static readonly Stopwatch Clock = Stopwatch.StartNew();

    public static async Task<int> Main(string[] args)
    {
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.WriteLine("Usage: dotnet run --project samples/Cachify.Demo [-- --redis [connection string]]");
            Console.WriteLine($"  --redis [connection string]  run the tour on Redis, then show two instances staying coherent; keys cachify-demo:*,");
            Console.WriteLine($"                               deleted first. Default: ${DemoBackend.RedisVariable}, else {DemoBackend.DefaultRedis}. Starts no server.");
            return 0;
        }

        var loggerFactory = new ConsoleLoggerFactory(Elapsed);
        using var backend = DemoBackend.Choose(args, loggerFactory);
        if (backend is null)
        {
            return 2;
        }

        Console.WriteLine("Cachify tour");
        Console.WriteLine($"Backend: {backend.Description}");

        await SlowBecomesInstant(backend.Backend);
        await Stampede(backend.Backend);
        await NeverDie(backend.Backend);
        await SkipCache(backend.Backend);
        if (backend.RedisConfiguration is not null)
        {
            Header("5. Two instances, one Redis: a change made by one is seen by the other");
            using var peer = backend.Peer(loggerFactory);
            if (peer is null)
            {
                return 2;
            }

            await Coherence.Run(backend.Backend, peer.Backend);
        }

        Header("Done");
        Console.WriteLine($"The whole tour took {Total.ElapsedMilliseconds:N0} ms.");
        return 0;
    }

    // ------------------------------------------------------------------ a. slow function, instant second call

    private static Task SlowBecomesInstant(ICacheBackend backend)
    {
        Header("1. A slow function becomes instant");
        Console.WriteLine("GetForecast(city) takes 500 ms (think: a remote API). Wrapped once:");
        Console.WriteLine("    var forecast = Cachify.Wrap((string city) => Weather.GetForecast(city));");
        Console.WriteLine();

        var forecast = Cachify.Wrap((string city) => Weather.GetForecast(city)).Named("demo.forecast").NoSelf().Backend(backend);

        Timed("first call, Paris ", () => forecast.Invoke("Paris"));
        Timed("second call, Paris", () => forecast.Invoke("Paris"));
        Timed("first call, Oslo  ", () => forecast.Invoke("Oslo"));
        Console.WriteLine("Same arguments, same result, straight from the cache. Other arguments get their own entry.");
        return Task.CompletedTask;
    }

    // ------------------------------------------------------------------ b. 1,000 concurrent callers, 1 execution

    private static async Task Stampede(ICacheBackend backend)
    {
        Header("2. 1,000 concurrent callers, one execution");
        Console.WriteLine("BuildReport(id) takes 300 ms. 1,000 callers ask for report 7 at the same moment, before it is cached:");
        Console.WriteLine();

        var executions = 0;
        var report = Cachify.Wrap(async (int id) =>
        {
            Interlocked.Increment(ref executions);
            await Task.Delay(300);
            return $"report #{id}";
        }).Named("demo.report").NoSelf().Backend(backend);

        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var callers = Enumerable.Range(0, 1000).Select(async _ =>
        {
            await start.Task;
            return await report.Invoke(7);
        }).ToArray();

        var watch = Stopwatch.StartNew();
        start.SetResult();
        var results = await Task.WhenAll(callers);
        watch.Stop();

        Console.WriteLine($"    {results.Length:N0} callers got \"{results[0]}\" (all the same: {results.All(r => r == results[0])}) in {watch.ElapsedMilliseconds:N0} ms.");
        Console.WriteLine($"    The function ran {executions} time{(executions == 1 ? string.Empty : "s")}.");
        Console.WriteLine("Callers of the same key share one execution: a cold cache never stampedes your database.");
    }

    // ------------------------------------------------------------------ c. never-die survives a failing source

    private static async Task NeverDie(ICacheBackend backend)
    {
        Header("3. Never-die: the value survives a failing source");
        Console.WriteLine("GetRate(currency) with a 300 ms TTL and .NeverDie(): when the TTL ends, Cachify refreshes the");
        Console.WriteLine("entry in the background and callers keep the last good value meanwhile.");
        Console.WriteLine();

        var source = new RateSource(Elapsed);
        var rate = Cachify.Wrap((string currency) => source.FetchAsync(currency))
            .Named("demo.rate").NoSelf()
            .Ttl(TimeSpan.FromMilliseconds(300))
            .NeverDie()
            .Backend(backend);

        Clock.Restart();
        var first = await rate.Invoke("EUR");
        Console.WriteLine($"{Elapsed()} read: EUR = {first} (first call: ran the source)");
        source.Healthy = false;
        Console.WriteLine($"{Elapsed()} >>> the source goes down");

        var recovered = false;
        decimal last = 0;
        while (Clock.ElapsedMilliseconds < 4000)
        {
            await Task.Delay(250);
            var watch = Stopwatch.StartNew();
            var value = await rate.Invoke("EUR");
            watch.Stop();
            Console.WriteLine($"{Elapsed()} read: EUR = {value} ({watch.Elapsed.TotalMilliseconds:N2} ms)");

            if (!recovered && Clock.ElapsedMilliseconds >= 1300)
            {
                recovered = true;
                source.Healthy = true;
                Console.WriteLine($"{Elapsed()} >>> the source is back, with a new rate");
            }

            if (recovered && last != 0 && value != last)
            {
                break;
            }

            last = value;
        }

        Console.WriteLine("Every read was instant and none failed: the failed refreshes kept the old value and were");
        Console.WriteLine("retried with back-off (TTL x 1.25^n); the first successful refresh brought the new rate in.");
        rate.Clear(); // stop refreshing this entry
    }

    // ------------------------------------------------------------------ d. skip-cache runs fresh and updates the cache

    private static async Task SkipCache(ICacheBackend backend)
    {
        Header("4. Skip the cache when you need fresh data");
        Console.WriteLine("GetPrice(sku) takes 200 ms and the price changes on the server. Invoke(sku, skipCache: true)");
        Console.WriteLine("runs the function now, returns the fresh result and stores it for the next callers.");
        Console.WriteLine();

        var catalog = new Catalog();
        var price = Cachify.Wrap((string sku) => catalog.GetPriceAsync(sku)).Named("demo.price").NoSelf().Backend(backend);

        await TimedAsync("Invoke(\"book\")                  ", () => price.Invoke("book"));
        await TimedAsync("Invoke(\"book\")                  ", () => price.Invoke("book"));
        await TimedAsync("Invoke(\"book\", skipCache: true) ", () => price.Invoke("book", skipCache: true));
        await TimedAsync("Invoke(\"book\")                  ", () => price.Invoke("book"));
        Console.WriteLine($"The function ran {catalog.Calls} times: the first call and the skip-cache call; the next normal call got the fresh price.");
    }

    // ------------------------------------------------------------------ helpers

    private static void Header(string title)
    {
        Console.WriteLine();
        Console.WriteLine(title);
        Console.WriteLine(new string('-', title.Length));
    }

    private static string Elapsed() => $"[{Clock.ElapsedMilliseconds,5:N0} ms]";

    private static void Timed<T>(string label, Func<T> call)
    {
        var watch = Stopwatch.StartNew();
        var result = call();
        watch.Stop();
        Console.WriteLine($"    {label} -> {result,-22} {Duration(watch)}");
    }

    private static async Task TimedAsync<T>(string label, Func<Task<T>> call)
    {
        var watch = Stopwatch.StartNew();
        var result = await call();
        watch.Stop();
        Console.WriteLine($"    {label} -> {result,-8} {Duration(watch)}");
    }

    private static string Duration(Stopwatch watch)
        => watch.Elapsed.TotalMilliseconds >= 1 ? $"{watch.Elapsed.TotalMilliseconds,8:N0} ms" : $"{watch.Elapsed.TotalMilliseconds,8:N3} ms";
}
