using System.Text;
using System.Text.RegularExpressions;

namespace CachifyNet.Docs.Tests;

/// <summary>A fenced code block of a markdown file.</summary>
/// <param name="File">The file, relative to the repository root, with forward slashes.</param>
/// <param name="Line">The 1-based line of the block's first code line (after the fence).</param>
/// <param name="Language">The fence's info string up to the first space (<c>csharp</c>).</param>
/// <param name="Code">The code between the fences.</param>
/// <param name="Marker">The <c>docs:</c> marker comment on the line before the fence (<c>skip</c>, <c>expect CACHIFY001</c>), or empty.</param>
internal sealed record CodeBlock(string File, int Line, string Language, string Code, string Marker)
{
    public override string ToString() => $"{File}:{Line}";
}

/// <summary>The markdown files of the repository that are documentation: README.md, CONTRIBUTING.md and docs/*.md.</summary>
internal static partial class MarkdownDocs
{
    public static string Root { get; } = FindRoot();

    public static IReadOnlyList<string> Files { get; } = FindFiles();

    /// <summary>The package readmes (src/*/PACKAGE.md), packed as README.md with <c>{DocsUrl}</c> replaced by <see cref="DocsUrl"/>.</summary>
    public static IReadOnlyList<string> PackageReadmes { get; } =
        [.. Directory.GetFiles(Path.Combine(Root, "src"), "PACKAGE.md", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Root, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)];

    /// <summary>The base of the absolute links of the package readmes: <c>CachifyDocsUrl</c> in src/Directory.Build.props.</summary>
    public static string DocsUrl { get; } = DocsUrlProperty().Match(Read("src/Directory.Build.props")) is { Success: true } m
        ? m.Groups["url"].Value
        : throw new InvalidOperationException("src/Directory.Build.props sets no <CachifyDocsUrl>.");

    public static string Read(string file) => File.ReadAllText(Path.Combine(Root, file));

    public static IEnumerable<CodeBlock> Blocks(string file)
    {
        var lines = Read(file).Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        for (var i = 0; i < lines.Length; i++)
        {
            var open = Fence().Match(lines[i]);
            if (!open.Success)
            {
                continue;
            }
            var fence = open.Groups["fence"].Value;
            var language = open.Groups["info"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
            var marker = i > 0 ? DocsMarker().Match(lines[i - 1]) : Match.Empty;
            var code = new StringBuilder();
            var start = i + 1;
            for (i++; i < lines.Length && !lines[i].TrimStart().StartsWith(fence, StringComparison.Ordinal); i++)
            {
                code.Append(lines[i]).Append('\n');
            }
            yield return new CodeBlock(file, start + 1, language, code.ToString(), marker.Success ? marker.Groups["marker"].Value.Trim() : "");
        }
    }

    /// <summary>The text of a file outside its code blocks (fenced and inline), where links are.</summary>
    public static IEnumerable<(int Line, string Text)> Prose(string file) =>
        OutsideFences(file).Select(l => (l.Line, InlineCode().Replace(l.Text, "")));

    private static IEnumerable<(int Line, string Text)> OutsideFences(string file)
    {
        var lines = Read(file).Split('\n');
        string? fence = null;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            var open = Fence().Match(line);
            if (fence is null && open.Success)
            {
                fence = open.Groups["fence"].Value;
                continue;
            }
            if (fence is not null)
            {
                if (line.TrimStart().StartsWith(fence, StringComparison.Ordinal))
                {
                    fence = null;
                }
                continue;
            }
            yield return (i + 1, line);
        }
    }

    /// <summary>The anchors GitHub gives the headings of a markdown file.</summary>
    public static ISet<string> Anchors(string file)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (_, text) in OutsideFences(file))
        {
            var heading = Heading().Match(text);
            if (!heading.Success)
            {
                continue;
            }
            var slug = Slug(heading.Groups["title"].Value);
            var unique = slug;
            for (var n = 1; !anchors.Add(unique); n++)
            {
                unique = $"{slug}-{n}";
            }
        }
        return anchors;
    }

    /// <summary>GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens.</summary>
    public static string Slug(string title)
    {
        var text = title.Trim().ToLowerInvariant().Replace("`", "", StringComparison.Ordinal);
        var slug = new StringBuilder();
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c) || c is '-' or '_')
            {
                slug.Append(c);
            }
            else if (c == ' ')
            {
                slug.Append('-');
            }
        }
        return slug.ToString();
    }

    /// <summary>The links of a file: inline links and images, <c>[text](target)</c>.</summary>
    public static IEnumerable<(int Line, string Target)> Links(string file) =>
        Prose(file).SelectMany(p => Link().Matches(p.Text).Select(m => (p.Line, m.Groups["target"].Value)));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cachify.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"No Cachify.sln above {AppContext.BaseDirectory}.");
    }

    private static List<string> FindFiles()
    {
        var files = new List<string> { "README.md", "CONTRIBUTING.md" };
        files.AddRange(Directory.GetFiles(Path.Combine(Root, "docs"), "*.md")
            .Select(f => "docs/" + Path.GetFileName(f))
            .Order(StringComparer.Ordinal));
        return files;
    }

    [GeneratedRegex(@"<CachifyDocsUrl>(?<url>[^<]+)</CachifyDocsUrl>")]
    private static partial Regex DocsUrlProperty();

    [GeneratedRegex(@"^\s*(?<fence>```+|~~~+)(?<info>.*)$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"^\s*<!--\s*docs:(?<marker>.*?)-->\s*$")]
    private static partial Regex DocsMarker();

    [GeneratedRegex(@"`[^`]*`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"^#{1,6}\s+(?<title>.+?)\s*#*\s*$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)(\s+""[^""]*"")?\)")]
    private static partial Regex Link();
}
