using System.Diagnostics;

namespace CachifyNet.Demo;

/// <summary>
/// The Redis part of the tour: two backends on one Redis, each on its own connection, stand for two instances of an
/// app. A value changed, invalidated or cleared through one is what the other answers next.
/// </summary>
public static class Coherence
{
    /// <summary>How long the demo waits for the other instance to see a change before saying it did not.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    public static async Task Run(ICacheBackend a, ICacheBackend b)
    {
        Console.WriteLine("Two backends on this Redis, each with its own connection, stand for two instances of an app");
        Console.WriteLine("(two processes behave the same way). Both wrap GetStock(sku), named \"demo.stock\"; the stock");
        Console.WriteLine("lives in a shared database, and every run of the function reads a new number.");
        Console.WriteLine();

        var database = new StockDatabase();
        var stockA = Cachify.Wrap((string sku) => database.ReadAsync(sku, "A")).Named("demo.stock").NoSelf().Backend(a);
        var stockB = Cachify.Wrap((string sku) => database.ReadAsync(sku, "B")).Named("demo.stock").NoSelf().Backend(b);

        var first = await stockA.Invoke("book");
        Console.WriteLine($"    A: Invoke(\"book\")                  -> {first,3}  ({database.LastRun})");
        var shared = await stockB.Invoke("book");
        Console.WriteLine($"    B: Invoke(\"book\")                  -> {shared,3}  ({(database.Runs == 1 ? "from the cache: B did not run the function" : database.LastRun)})");

        var fresh = await stockA.Invoke("book", skipCache: true);
        Console.WriteLine($"    A: Invoke(\"book\", skipCache: true) -> {fresh,3}  ({database.LastRun}: the stock changed)");
        await SeenBy("B", () => stockB.Invoke("book"), value => value == fresh, "A's new value");

        await stockB.InvalidateAsync("book");
        Console.WriteLine($"    B: Invalidate(\"book\")");
        var before = database.Runs;
        await SeenBy("A", () => stockA.Invoke("book"), _ => database.Runs > before, "B's invalidation (A ran the function)");

        var current = await stockB.Invoke("book");
        Console.WriteLine($"    B: Invoke(\"book\")                  -> {current,3}  ({(database.Runs == before + 1 ? "A's new value, from the cache" : database.LastRun)})");
        await stockA.ClearAsync();
        Console.WriteLine($"    A: Clear()");
        before = database.Runs;
        await SeenBy("B", () => stockB.Invoke("book"), _ => database.Runs > before, "A's Clear (B ran the function)");

        Console.WriteLine("Whatever one instance writes, invalidates or clears, the other answers next: they share the");
        Console.WriteLine("entries on Redis, and no instance keeps serving a value another one replaced.");
        await stockA.ClearAsync();
    }

    /// <summary>Calls <paramref name="read"/> until <paramref name="seen"/> holds, and prints how long that took.</summary>
    private static async Task SeenBy(string who, Func<Task<int>> read, Func<int, bool> seen, string what)
    {
        var watch = Stopwatch.StartNew();
        var reads = 0;
        while (true)
        {
            var value = await read();
            reads++;
            if (seen(value))
            {
                var elapsed = watch.Elapsed.TotalMilliseconds;
                Console.WriteLine($"    {who}: Invoke(\"book\")                  -> {value,3}  ({what} seen after {elapsed:N2} ms, {reads} read{(reads == 1 ? string.Empty : "s")})");
                return;
            }

            if (watch.Elapsed > Patience)
            {
                Console.WriteLine($"    {who}: Invoke(\"book\")                  -> {value,3}  ({what} NOT seen after {Patience.TotalSeconds:N0} s, {reads} reads)");
                return;
            }

            await Task.Delay(1);
        }
    }

    /// <summary>The shared database: every read returns a new stock level, and remembers who read it.</summary>
    private sealed class StockDatabase
    {
        private int _runs;
        private volatile string _lastRun = "nothing ran yet";

        public int Runs => Volatile.Read(ref _runs);

        public string LastRun => _lastRun;

        public Task<int> ReadAsync(string sku, string instance)
        {
            var run = Interlocked.Increment(ref _runs);
            _lastRun = $"{instance} ran the function for {sku}";
            return Task.FromResult(9 + run);
        }
    }
}
