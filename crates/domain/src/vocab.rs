//! The official vocabulary of the Missions Locales as closed lists.
//!
//! Each list has a stable machine code (stored in the database, used by the API and the
//! warehouse) and a French label (shown in the pages). Codes never change once shipped; labels
//! may. One macro builds every list so that parsing, labels and serialisation cannot drift.

/// Declares a closed list: `Name { Variant = "code" : "Libellé", … }`.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $code:literal : $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
            pub fn parse(code: &str) -> Option<$name> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.label())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let code = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                $name::parse(&code).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "valeur inconnue pour {} : attendu l'un de {}",
                        stringify!($name),
                        [$($code),+].join(", ")
                    ))
                })
            }
        }
    };
}

vocabulary! {
    /// The phases of a parcours.
    Phase {
        PremierAccueil = "premier_accueil" : "Premier accueil",
        Diagnostic = "diagnostic" : "Diagnostic",
        Accompagnement = "accompagnement" : "Accompagnement",
        Sortie = "sortie" : "Sortie",
    }
}

vocabulary! {
    /// Dated events of the parcours.
    EventKind {
        EntretienIndividuel = "entretien_individuel" : "Entretien individuel",
        InformationCollective = "information_collective" : "Information collective",
        Atelier = "atelier" : "Atelier",
        ContactTelephone = "contact_telephone" : "Contact téléphone",
        ContactEmail = "contact_email" : "Contact e-mail",
        ContactSms = "contact_sms" : "Contact SMS",
        ContactCourrier = "contact_courrier" : "Contact courrier",
        Visite = "visite" : "Visite",
        MediationEntreprise = "mediation_entreprise" : "Médiation entreprise",
    }
}

vocabulary! {
    /// How an individual interview takes place.
    Modalite {
        SurPlace = "sur_place" : "Sur place",
        Telephone = "telephone" : "Téléphone",
        Visio = "visio" : "Visio",
        Domicile = "domicile" : "À domicile",
    }
}

vocabulary! {
    /// Themes of an event or a workshop.
    Theme {
        Emploi = "emploi" : "Emploi",
        Formation = "formation" : "Formation",
        Logement = "logement" : "Logement",
        Sante = "sante" : "Santé",
        Mobilite = "mobilite" : "Mobilité",
        Citoyennete = "citoyennete" : "Citoyenneté",
        AccesDroits = "acces_droits" : "Accès aux droits",
        LoisirsSportCulture = "loisirs_sport_culture" : "Loisirs, sport, culture",
        ProjetProfessionnel = "projet_professionnel" : "Projet professionnel",
    }
}

vocabulary! {
    /// Status of an appointment (rendez-vous).
    AppointmentStatus {
        Planifie = "planifie" : "Planifié",
        Present = "present" : "Présent",
        Absent = "absent" : "Absent",
        Annule = "annule" : "Annulé",
        Reporte = "reporte" : "Reporté",
    }
}

vocabulary! {
    /// Status of a registration to a workshop session.
    RegistrationStatus {
        Inscrit = "inscrit" : "Inscrit",
        Present = "present" : "Présent",
        Absent = "absent" : "Absent",
        RefusJeune = "refus_jeune" : "Refus jeune",
        RefusTiers = "refus_tiers" : "Refus tiers",
    }
}

vocabulary! {
    /// Categories of a situation (what the jeune is doing).
    SituationCategory {
        Emploi = "emploi" : "Emploi",
        Alternance = "alternance" : "Alternance",
        Formation = "formation" : "Formation",
        Immersion = "immersion" : "Immersion (PMSMP)",
        Volontariat = "volontariat" : "Volontariat, bénévolat",
        Scolarite = "scolarite" : "Scolarité",
        DemandeurEmploi = "demandeur_emploi" : "Demandeur d'emploi",
    }
}

vocabulary! {
    SituationStatus {
        Prevue = "prevue" : "Prévue",
        EnCours = "en_cours" : "En cours",
        Terminee = "terminee" : "Terminée",
    }
}

vocabulary! {
    ProposalKind {
        OffreEmploi = "offre_emploi" : "Offre d'emploi",
        Formation = "formation" : "Formation",
        Immersion = "immersion" : "Immersion (PMSMP)",
        Alternance = "alternance" : "Alternance",
    }
}

vocabulary! {
    ProposalStatus {
        Proposee = "proposee" : "Proposée",
        Acceptee = "acceptee" : "Acceptée",
        Refusee = "refusee" : "Refusée",
        Realisee = "realisee" : "Réalisée",
    }
}

vocabulary! {
    /// The national list of exit reasons.
    ExitReason {
        EmploiDurable = "emploi_durable" : "Emploi durable (CDI, CDD ou alternance de plus de six mois, titularisation)",
        EmploiCourt = "emploi_court" : "Emploi court",
        Formation = "formation" : "Formation",
        ContratEchu = "contrat_echu" : "Contrat arrivé à échéance",
        LimiteAge = "limite_age" : "Limite d'âge",
        DemandeJeune = "demande_jeune" : "Demande du jeune",
        NonRespect = "non_respect" : "Non-respect des engagements ou abandon",
        Demenagement = "demenagement" : "Déménagement",
        ChangementConseiller = "changement_conseiller" : "Changement de conseiller",
        Autre = "autre" : "Autre (préciser)",
    }
}

vocabulary! {
    /// Programmes (dispositifs). CEJ and PACEA carry allowance rules; the others are followed
    /// without allowance.
    ProgrammeKind {
        Cej = "cej" : "Contrat d'engagement jeune (CEJ)",
        Pacea = "pacea" : "PACEA",
        Pec = "pec" : "Parcours emploi compétences (PEC)",
        Ppae = "ppae" : "Lien PPAE (France Travail)",
        ConventionRsa = "convention_rsa" : "Convention RSA",
        Autre = "autre" : "Autre programme",
    }
}

vocabulary! {
    ProgrammeStatus {
        EnCours = "en_cours" : "En cours",
        Termine = "termine" : "Terminé",
    }
}

vocabulary! {
    /// A month's allowance decision.
    AllowanceDecision {
        Attribuee = "attribuee" : "Attribuée",
        Suspendue = "suspendue" : "Suspendue",
        Reduite = "reduite" : "Réduite",
    }
}

vocabulary! {
    /// Tax situation of the household the jeune belongs to (or of the jeune if detached).
    TaxSituation {
        NonImposable = "non_imposable" : "Foyer non imposable",
        ImposableTranche1 = "imposable_tranche1" : "Foyer imposable à la première tranche",
        ImposableAuDela = "imposable_au_dela" : "Foyer imposable au-delà de la première tranche",
    }
}

vocabulary! {
    /// Kinds of resources a jeune declares for the CEJ allowance. Income from work gets the
    /// 300 € disregard and the degressivity; every other resource is deducted in full (see
    /// `rules::allowance`).
    IncomeKind {
        RevenusActivite = "revenus_activite" : "Revenus d'activité",
        Salaire = "salaire" : "Salaire",
        Apprentissage = "apprentissage" : "Rémunération d'apprenti",
        Independant = "independant" : "Revenus d'activité non salariée",
        ActivitePartielle = "activite_partielle" : "Indemnités d'activité partielle",
        IndemnitesMaladie = "indemnites_maladie" : "Indemnités journalières (maladie, maternité, accident du travail)",
        AllocationChomage = "allocation_chomage" : "Allocation chômage",
        RemunerationFormation = "remuneration_formation" : "Rémunération de formation professionnelle",
        AutreRessource = "autre_ressource" : "Autre ressource",
    }
}

impl IncomeKind {
    /// Income from work: disregarded up to 300 € and then degressive, not deducted in full.
    pub fn is_activity(self) -> bool {
        matches!(
            self,
            IncomeKind::RevenusActivite
                | IncomeKind::Salaire
                | IncomeKind::Apprentissage
                | IncomeKind::Independant
                | IncomeKind::ActivitePartielle
                | IncomeKind::IndemnitesMaladie
        )
    }
}

vocabulary! {
    PmsmpStatus {
        Prevue = "prevue" : "Prévue",
        EnCours = "en_cours" : "En cours",
        Realisee = "realisee" : "Réalisée",
        Annulee = "annulee" : "Annulée",
    }
}

vocabulary! {
    SituationFamiliale {
        Celibataire = "celibataire" : "Célibataire",
        EnCouple = "en_couple" : "En couple",
        Marie = "marie" : "Marié(e) ou pacsé(e)",
        Separe = "separe" : "Séparé(e) ou divorcé(e)",
    }
}

vocabulary! {
    Logement {
        Parents = "parents" : "Chez les parents",
        Famille = "famille" : "Chez d'autres membres de la famille",
        Amis = "amis" : "Chez des amis",
        Autonome = "autonome" : "Logement autonome",
        Foyer = "foyer" : "Foyer, résidence sociale, FJT",
        Hebergement = "hebergement" : "Hébergement d'urgence",
        SansLogement = "sans_logement" : "Sans logement",
    }
}

vocabulary! {
    /// Minimum income or other benefit received.
    MinimumIncome {
        Aucun = "aucun" : "Aucun",
        Rsa = "rsa" : "RSA",
        Aah = "aah" : "AAH",
        Are = "are" : "Allocation chômage (ARE)",
        Ass = "ass" : "ASS",
        Autre = "autre" : "Autre",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        for p in ExitReason::ALL {
            assert_eq!(ExitReason::parse(p.code()), Some(*p));
        }
        let mut codes: Vec<&str> = EventKind::ALL.iter().map(|k| k.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), EventKind::ALL.len());
        assert_eq!(ExitReason::parse("inconnu"), None);
    }

    #[test]
    fn serde_uses_codes_and_refuses_unknown_values_in_french() {
        let j = serde_json::to_string(&Theme::AccesDroits).unwrap_or_default();
        assert_eq!(j, "\"acces_droits\"");
        let back: Theme = serde_json::from_str(&j).unwrap_or(Theme::Emploi);
        assert_eq!(back, Theme::AccesDroits);
        let err = serde_json::from_str::<Theme>("\"plage\"")
            .err()
            .map(|e| e.to_string());
        assert!(err.unwrap_or_default().contains("valeur inconnue"));
    }
}
