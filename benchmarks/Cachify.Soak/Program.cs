namespace CachifyNet.Soak;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Contains("--help") || args.Contains("-h"))
        {
            Console.WriteLine(SoakOptions.Usage);
            return 0;
        }

        SoakOptions options;
        try
        {
            options = SoakOptions.Parse(args);
        }
        catch (Exception error) when (error is ArgumentException or FormatException)
        {
            Console.Error.WriteLine(error.Message);
            Console.Error.WriteLine(SoakOptions.Usage);
            return 64;
        }

        Console.WriteLine($"Cachify soak: {options.Duration.TotalSeconds:F0} s, {options.Workers} workers, {options.Keys:N0} keys{(options.UsesRedis ? ", with Redis" : string.Empty)}");
        using var run = new SoakRun(options);
        var summary = await run.RunAsync();
        summary.Print(Console.Out);
        return summary.ExitCode;
    }
}
