using System.Collections.Immutable;
using System.Composition;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace CachifyNet.Analyzers;

/// <summary>CACHIFY003: replaces an unknown IgnoreArgs name with the one parameter name close to it (<c>"idd"</c> → <c>"id"</c>).</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(UnknownIgnoredArgumentCodeFix))]
[Shared]
public sealed class UnknownIgnoredArgumentCodeFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.UnknownIgnoredArgument.Id);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null)
        {
            return;
        }

        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue(CachifyAnalyzer.ClosestNameKey, out var closest) || closest is null
                || root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true) is not LiteralExpressionSyntax literal
                || !literal.IsKind(SyntaxKind.StringLiteralExpression))
            {
                continue;
            }

            var replacement = SyntaxFactory.LiteralExpression(SyntaxKind.StringLiteralExpression, SyntaxFactory.Literal(closest))
                .WithTriviaFrom(literal);
            context.RegisterCodeFix(
                CodeAction.Create(
                    $"Use the parameter name '{closest}'",
                    _ => Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(literal, replacement))),
                    equivalenceKey: nameof(UnknownIgnoredArgumentCodeFix) + closest),
                diagnostic);
        }
    }
}
