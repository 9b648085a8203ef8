# License changes planned by the Communication Credits workbook.
# Plan: add Audio Conferencing where no way to call, Teams Phone for Calling Plan users, Communication Credits; usage location US where missing for users who cannot dial out
# Changes for 2 users.
# Review before running. Needs the Microsoft Graph PowerShell SDK (Install-Module Microsoft.Graph).
Connect-MgGraph -Scopes User.ReadWrite.All, Organization.Read.All
$ErrorActionPreference = 'Stop'

# Carol Chen (carol@contoso.com)
Update-MgUser -UserId '22222222-0000-4000-8000-000000000002' -UsageLocation US
Set-MgUserLicense -UserId '22222222-0000-4000-8000-000000000002' -AddLicenses @(@{SkuId = '0c266dff-15dd-4b49-8397-2bb16070ed52'}, @{SkuId = '47794cd0-f0e5-45c5-9033-2eb6b5fc84e0'}) -RemoveLicenses @()

# Pat (guest) line two (pat_fabrikam.com#EXT#@contoso.onmicrosoft.com)
Set-MgUserLicense -UserId '22222222-0000-4000-8000-000000000003' -AddLicenses @(@{SkuId = '06ebc4ee-1bb5-47dd-8120-11324bc54e06'}, @{SkuId = '47794cd0-f0e5-45c5-9033-2eb6b5fc84e0'}) -RemoveLicenses @()
